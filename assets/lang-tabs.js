// Turns each Rust code block that is directly followed by a Python one into two
// tabs, "Rust" and "Python". The reader's choice applies to every pair on every page
// and is remembered in localStorage; where storage is refused (some browsers on
// file://, private modes) it is remembered for this page only. Without JavaScript
// both blocks simply show, one after the other.
(function () {
    "use strict";

    var KEY = "sockstep-lang";
    var LANGS = [
        { id: "rust", label: "Rust" },
        { id: "python", label: "Python" },
    ];
    var fallback = null;
    var groups = [];

    function known(lang) {
        return LANGS.some(function (l) { return l.id === lang; });
    }

    function load() {
        var stored = null;
        try {
            stored = window.localStorage.getItem(KEY);
        } catch (e) {
            // Storage refused: keep the choice in memory.
        }
        if (known(stored)) return stored;
        return fallback || LANGS[0].id;
    }

    function save(lang) {
        fallback = lang;
        try {
            window.localStorage.setItem(KEY, lang);
        } catch (e) {
            // Storage refused: the in-memory choice still applies on this page.
        }
    }

    // The <pre> holding a code block in `lang`, or null.
    function codeBlock(element, lang) {
        if (!element || element.tagName !== "PRE") return null;
        var code = element.firstElementChild;
        while (code && code.tagName !== "CODE") code = code.nextElementSibling;
        return code && code.classList.contains("language-" + lang) ? element : null;
    }

    function makeGroup(blocks, number) {
        var wrapper = document.createElement("div");
        wrapper.className = "sockstep-lang-tabs";
        var list = document.createElement("div");
        list.className = "sockstep-lang-tablist";
        list.setAttribute("role", "tablist");
        list.setAttribute("aria-label", "Language of the code");
        blocks[0].parentNode.insertBefore(wrapper, blocks[0]);
        wrapper.appendChild(list);

        var tabs = LANGS.map(function (lang, i) {
            var tab = document.createElement("button");
            var panel = blocks[i];
            var id = "sockstep-lang-" + number + "-" + lang.id;
            tab.type = "button";
            tab.id = id + "-tab";
            tab.textContent = lang.label;
            tab.setAttribute("role", "tab");
            tab.setAttribute("aria-controls", id);
            tab.dataset.lang = lang.id;
            panel.id = id;
            panel.setAttribute("role", "tabpanel");
            panel.setAttribute("aria-labelledby", tab.id);
            list.appendChild(tab);
            wrapper.appendChild(panel);
            return tab;
        });

        function show(lang) {
            tabs.forEach(function (tab, i) {
                var on = tab.dataset.lang === lang;
                tab.setAttribute("aria-selected", on ? "true" : "false");
                tab.tabIndex = on ? 0 : -1;
                blocks[i].hidden = !on;
            });
        }

        // Switches every pair, keeping this tab list where the reader sees it.
        function choose(lang, focus) {
            var before = list.getBoundingClientRect().top;
            save(lang);
            showAll(lang);
            window.scrollBy(0, list.getBoundingClientRect().top - before);
            if (focus) {
                tabs.filter(function (t) { return t.dataset.lang === lang; })[0].focus();
            }
        }

        list.addEventListener("click", function (event) {
            var tab = event.target.closest("[role=tab]");
            if (tab) choose(tab.dataset.lang, false);
        });
        // Arrow keys, Home and End move between tabs, as the WAI-ARIA tabs pattern says.
        list.addEventListener("keydown", function (event) {
            var current = tabs.indexOf(document.activeElement);
            if (current < 0) return;
            var next;
            switch (event.key) {
                case "ArrowRight": next = (current + 1) % tabs.length; break;
                case "ArrowLeft": next = (current + tabs.length - 1) % tabs.length; break;
                case "Home": next = 0; break;
                case "End": next = tabs.length - 1; break;
                default: return;
            }
            event.preventDefault();
            // mdbook turns the page on ← and → anywhere: not while a tab has focus.
            event.stopPropagation();
            choose(tabs[next].dataset.lang, true);
        });
        return { show: show };
    }

    // Every pair shows `lang`; the page says so on <html data-sockstep-lang> and
    // with a "sockstep-lang" event, which the run's player follows.
    function showAll(lang) {
        groups.forEach(function (group) { group.show(lang); });
        document.documentElement.setAttribute("data-sockstep-lang", lang);
        document.dispatchEvent(new CustomEvent("sockstep-lang", { detail: { lang: lang } }));
    }

    function init() {
        var blocks = document.querySelectorAll("pre");
        for (var i = 0; i < blocks.length; i++) {
            var rust = codeBlock(blocks[i], "rust");
            var python = rust && codeBlock(rust.nextElementSibling, "python");
            if (python) groups.push(makeGroup([rust, python], groups.length));
        }
        showAll(load());
    }

    // A choice made in another window of the book applies here too.
    window.addEventListener("storage", function (event) {
        if (event.key === KEY && known(event.newValue)) showAll(event.newValue);
    });

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", init);
    } else {
        init();
    }
})();
