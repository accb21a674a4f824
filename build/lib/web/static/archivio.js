/* Archivio: progressive enhancement only; every page works without it.
 * - autocomplete for the search box (ARIA combobox over /api/suggest): a word
 *   or name fills the box and searches, an article's title opens the article;
 * - the sort list applies itself when changed;
 * - empty form fields are left out of the URL, so links stay short. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var input = document.getElementById("q");
  var list = document.getElementById("suggerimenti");
  var status = document.getElementById("stato-suggerimenti");
  var form = document.getElementById("ricerca");
  if (!input || !list || !form) {
    return;
  }

  // -- clean URLs: drop empty fields and defaults on submit --------------------
  form.addEventListener("submit", function (event) {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) {
        return;
      }
      var value = el.value.trim();
      if (!value || (el.name === "ordina" && value === "rilevanza")) {
        return;
      }
      params.append(el.name, value);
    });
    event.preventDefault();
    var query = params.toString();
    window.location.assign(form.action + (query ? "?" + query : ""));
  });

  var sort = document.getElementById("ordina");
  if (sort) {
    sort.addEventListener("change", function () {
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  }

  // -- autocomplete -------------------------------------------------------------
  if (!window.fetch) {
    return;
  }
  var url = input.getAttribute("data-suggest-url");
  var timer = null;
  var pending = null;
  var active = -1;
  var options = [];
  var typed = input.value;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  function close() {
    list.hidden = true;
    list.textContent = "";
    options = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    options.forEach(function (li, i) {
      li.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    active = index;
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  // A suggestion with a url (an article's title) opens it; any other fills the box and searches.
  function choose(li) {
    var target = li.getAttribute("data-url");
    input.value = li.getAttribute("data-text");
    close();
    if (target) {
      window.location.assign(target);
    } else {
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  }

  // data: the OpenSearch answer [query, [texts], [descriptions], [urls]].
  function render(data) {
    var texts = Array.isArray(data[1]) ? data[1] : [];
    var descriptions = Array.isArray(data[2]) ? data[2] : [];
    var urls = Array.isArray(data[3]) ? data[3] : [];
    list.textContent = "";
    options = texts.map(function (text, i) {
      var li = document.createElement("li");
      li.id = "suggerimento-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-text", text);
      li.appendChild(document.createTextNode(text));
      if (typeof urls[i] === "string" && urls[i]) {
        li.setAttribute("data-url", urls[i]);
        li.className = "is-title";
        var note = document.createElement("span");
        note.className = "suggestion-note";
        note.textContent = descriptions[i] ? "articolo, " + descriptions[i] : "articolo";
        li.appendChild(note);
      }
      // mousedown, not click: it fires before the input loses focus.
      li.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(li);
      });
      list.appendChild(li);
      return li;
    });
    active = -1;
    var open = options.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (status) {
      status.textContent = open
        ? options.length + (options.length === 1 ? " suggerimento" : " suggerimenti") +
          ": usa le frecce per sceglierne uno."
        : "";
    }
  }

  function fetchSuggestions() {
    var text = input.value;
    if (text.trim().length < 2) {
      close();
      return;
    }
    if (pending) {
      pending.abort();
    }
    pending = window.AbortController ? new AbortController() : null;
    fetch(url + "?q=" + encodeURIComponent(text), {
      headers: { Accept: "application/json" },
      signal: pending ? pending.signal : undefined,
    })
      .then(function (response) {
        return response.ok ? response.json() : [text, []];
      })
      .then(function (data) {
        if (input.value === text && document.activeElement === input) {
          render(Array.isArray(data) ? data : []);
        }
      })
      .catch(function () {
        /* aborted or offline: no suggestions */
      });
  }

  input.addEventListener("input", function () {
    typed = input.value;
    window.clearTimeout(timer);
    timer = window.setTimeout(fetchSuggestions, 120);
  });

  input.addEventListener("keydown", function (event) {
    if (list.hidden) {
      if (event.key === "ArrowDown" && input.value.trim().length >= 2) {
        fetchSuggestions();
        event.preventDefault();
      }
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      var next = active + step;
      if (next >= options.length) {
        next = -1;
      } else if (next < -1) {
        next = options.length - 1;
      }
      highlight(next);
      input.value = next >= 0 ? options[next].getAttribute("data-text") : typed;
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(options[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      input.value = typed;
      close();
    }
  });

  input.addEventListener("blur", function () {
    window.setTimeout(close, 100);
  });
})();
