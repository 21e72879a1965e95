// The book's player: steps through the real run whose static diagram stands above
// it, call by call. Everything it shows was computed when the book was built
// (`sockstep mdbook`) and sits in the page as JSON: per language, the state after
// each step, exactly what `sockstep run LESSON --seed N --upto K --json` prints, and
// each side's bytes drawn as the diagram draws them. Nothing is fetched; no
// framework. Without JavaScript the static diagram is all there is.
(function () {
    "use strict";

    var SIDES = ["naive", "correct"];
    var PLAY_MS = 700;
    // Icons drawn, not characters: ⏮ ⏯ ⏭ are missing from many fonts (and
    // projectors' machines). Each is an SVG path on a 16 x 16 grid.
    var ICONS = {
        start: "M2 2h2v12H2zM14 2v12L5 8z",
        back: "M12 2v12L3 8z",
        step: "M4 2v12l9-6z",
        play: "M1 2v12l7-6zM9.5 2h2v12h-2zM13 2h2v12h-2z",
        pause: "M3 2h3v12H3zM10 2h3v12h-3z",
        end: "M12 2h2v12h-2zM2 2v12l9-6z",
    };
    var BUTTONS = [
        { action: "start", label: "To the start", key: "Home" },
        { action: "back", label: "Step back", key: "←" },
        { action: "step", label: "Step", key: "→" },
        { action: "play", label: "Play", key: "" },
        { action: "end", label: "To the end", key: "End" },
    ];
    var SVG = "http://www.w3.org/2000/svg";
    var players = [];

    function icon(name) {
        var svg = document.createElementNS(SVG, "svg");
        svg.setAttribute("viewBox", "0 0 16 16");
        svg.setAttribute("aria-hidden", "true");
        svg.setAttribute("focusable", "false");
        var path = document.createElementNS(SVG, "path");
        path.setAttribute("d", ICONS[name]);
        path.setAttribute("fill", "currentColor");
        svg.appendChild(path);
        return svg;
    }

    function element(tag, className, text) {
        var made = document.createElement(tag);
        if (className) made.className = className;
        if (text !== undefined) made.textContent = text;
        return made;
    }

    // The language the page's code tabs show (assets/lang-tabs.js says it on <html>).
    function pageLang() {
        return document.documentElement.getAttribute("data-sockstep-lang") || "rust";
    }

    // Per language: { steps: [StepState…], views: { bytes, listings } }.
    function readRuns(root) {
        var runs = {};
        root.querySelectorAll("script.sockstep-steps").forEach(function (script) {
            var lang = script.getAttribute("data-lang") || "rust";
            runs[lang] = runs[lang] || {};
            runs[lang].steps = JSON.parse(script.textContent);
        });
        root.querySelectorAll("script.sockstep-views").forEach(function (script) {
            var lang = script.getAttribute("data-lang") || "rust";
            runs[lang] = runs[lang] || {};
            runs[lang].views = JSON.parse(script.textContent);
        });
        return runs;
    }

    // The page's code listings, in the order the preprocessor counted them: within
    // the chapter that holds `root` (print.html holds every chapter, each under
    // its own <h1>).
    function chapterListings(root) {
        var before = null;
        var after = null;
        document.querySelectorAll("main h1").forEach(function (heading) {
            var position = root.compareDocumentPosition(heading);
            if (position & Node.DOCUMENT_POSITION_PRECEDING) before = heading;
            else if (!after && position & Node.DOCUMENT_POSITION_FOLLOWING) after = heading;
        });
        var all = document.querySelectorAll(
            "main pre > code.language-rust, main pre > code.language-python");
        return Array.prototype.filter.call(all, function (code) {
            var inside = !before || before.compareDocumentPosition(code) & Node.DOCUMENT_POSITION_FOLLOWING;
            var ends = !after || after.compareDocumentPosition(code) & Node.DOCUMENT_POSITION_PRECEDING;
            return inside && ends;
        });
    }

    // The lines of a highlighted code block as elements, made once: the block's
    // nodes are regrouped one <span class="sockstep-line"> per line, each span the
    // highlighter opened re-opened on the next line, so the text and its colours
    // are unchanged. The lines mdbook hides (`.boring`, the `fn main` it wraps
    // Rust in) are not counted: line 1 is the listing's first line as written.
    function codeLines(code) {
        if (code.sockstepLines) return code.sockstepLines;
        var lines = [];
        var source = Array.prototype.slice.call(code.childNodes);
        var open = []; // the original elements the walk is inside
        var chain; // their copies in the current line, the line first
        var current;
        var visible; // the line has text, or its newline, outside .boring
        function hidden() {
            return open.some(function (node) {
                return node.classList && node.classList.contains("boring");
            });
        }
        function startLine() {
            current = element("span", "sockstep-line");
            code.appendChild(current);
            chain = [current];
            visible = false;
            open.forEach(function (original) {
                var copy = original.cloneNode(false);
                chain[chain.length - 1].appendChild(copy);
                chain.push(copy);
            });
        }
        function endLine() {
            if (hidden()) {
                // A hidden line keeps its newline inside, hidden with it.
                chain[chain.length - 1].appendChild(document.createTextNode("\n"));
            } else {
                visible = true;
                code.appendChild(document.createTextNode("\n"));
            }
            if (visible) lines.push(current);
            startLine();
        }
        function walk(node) {
            if (node.nodeType === Node.TEXT_NODE) {
                node.nodeValue.split("\n").forEach(function (part, i) {
                    if (i > 0) endLine();
                    if (!part) return;
                    chain[chain.length - 1].appendChild(document.createTextNode(part));
                    if (!hidden()) visible = true;
                });
                return;
            }
            if (node.nodeType !== Node.ELEMENT_NODE) return;
            var copy = node.cloneNode(false);
            chain[chain.length - 1].appendChild(copy);
            chain.push(copy);
            open.push(node);
            Array.prototype.forEach.call(node.childNodes, walk);
            open.pop();
            chain.pop();
        }
        source.forEach(function (node) { code.removeChild(node); });
        startLine();
        source.forEach(walk);
        if (visible) lines.push(current);
        else if (!current.textContent) code.removeChild(current);
        code.sockstepLines = lines;
        return lines;
    }

    function Player(root) {
        this.root = root;
        this.runs = readRuns(root);
        this.step = 0;
        this.timer = null;
        this.marked = [];
        this.build();
        this.useLang(pageLang());
    }

    Player.prototype.build = function () {
        var self = this;
        var root = this.root;
        var note = root.querySelector(".sockstep-player-noscript");
        if (note) note.remove();
        root.tabIndex = 0;
        root.setAttribute("role", "group");
        root.setAttribute("aria-label", "Step through the run of " +
            root.getAttribute("data-lesson") + ", seed " + root.getAttribute("data-seed") +
            ", call by call (← and → step)");

        var controls = element("div", "sockstep-player-controls");
        this.buttons = {};
        BUTTONS.forEach(function (spec) {
            var button = element("button", "sockstep-player-button");
            button.appendChild(icon(spec.action));
            button.type = "button";
            button.setAttribute("data-action", spec.action);
            button.setAttribute("aria-label", spec.label);
            button.title = spec.key ? spec.label + " (" + spec.key + ")" : spec.label;
            controls.appendChild(button);
            self.buttons[spec.action] = button;
        });
        this.progress = element("span", "sockstep-player-progress");
        this.progress.setAttribute("aria-hidden", "true");
        controls.appendChild(this.progress);
        root.appendChild(controls);

        this.stepText = element("p", "sockstep-player-step");
        this.stepText.setAttribute("aria-live", "polite");
        root.appendChild(this.stepText);

        var sides = element("div", "sockstep-player-sides");
        this.sides = {};
        SIDES.forEach(function (name) {
            var side = element("div", "sockstep-player-side");
            side.setAttribute("data-side", name);
            var head = element("p", "sockstep-player-head");
            head.appendChild(element("span", "sockstep-player-name", name));
            head.appendChild(document.createTextNode(" "));
            var call = element("span", "sockstep-player-call");
            head.appendChild(call);
            var line = element("span", "sockstep-player-line");
            head.appendChild(line);
            side.appendChild(head);
            var bytes = element("div", "sockstep-player-bytes");
            side.appendChild(bytes);
            var where = element("p", "sockstep-player-where");
            side.appendChild(where);
            var verdict = element("p", "sockstep-player-verdict");
            side.appendChild(verdict);
            sides.appendChild(side);
            self.sides[name] = { root: side, call: call, line: line, bytes: bytes, where: where, verdict: verdict };
        });
        root.appendChild(sides);

        controls.addEventListener("click", function (event) {
            var button = event.target.closest("button[data-action]");
            if (button) self.act(button.getAttribute("data-action"));
        });
        root.addEventListener("keydown", function (event) {
            if (event.altKey || event.ctrlKey || event.metaKey) return;
            var action = { ArrowLeft: "back", ArrowRight: "step", Home: "start", End: "end" }[event.key];
            if (!action) return;
            event.preventDefault();
            // mdbook turns the page on ← and → anywhere: not while the player has focus.
            event.stopPropagation();
            self.act(action);
        });
    };

    Player.prototype.useLang = function (lang) {
        if (!this.runs[lang]) lang = this.runs.rust ? "rust" : Object.keys(this.runs)[0];
        if (lang === this.lang) return;
        this.lang = lang;
        this.root.setAttribute("data-lang", lang);
        this.run = this.runs[lang];
        this.listings = null;
        // The other language's run has its own number of steps.
        this.show(Math.min(this.step, this.last()));
    };

    Player.prototype.last = function () {
        return this.run.steps.length - 1;
    };

    Player.prototype.act = function (action) {
        if (action === "play") {
            if (this.timer) this.pause();
            else this.play();
            return;
        }
        this.pause();
        var to = {
            start: 0,
            back: this.step - 1,
            step: this.step + 1,
            end: this.last(),
        }[action];
        this.show(Math.max(0, Math.min(this.last(), to)));
    };

    Player.prototype.play = function () {
        var self = this;
        if (this.step >= this.last()) this.show(0);
        this.setPlaying(true);
        this.timer = window.setInterval(function () {
            if (self.step >= self.last()) self.pause();
            else self.show(self.step + 1);
        }, PLAY_MS);
    };

    Player.prototype.pause = function () {
        if (this.timer) window.clearInterval(this.timer);
        this.timer = null;
        this.setPlaying(false);
    };

    Player.prototype.setPlaying = function (playing) {
        var button = this.buttons.play;
        // The label says what a press does (not aria-pressed as well: a screen
        // reader would then say "Pause, pressed").
        button.setAttribute("aria-label", playing ? "Pause" : "Play");
        button.title = playing ? "Pause" : "Play";
        button.replaceChild(icon(playing ? "pause" : "play"), button.firstChild);
        this.root.classList.toggle("sockstep-playing", playing);
    };

    Player.prototype.show = function (step) {
        var state = this.run.steps[step];
        var bytes = this.run.views.bytes;
        var self = this;
        this.step = step;
        this.root.setAttribute("data-step", String(step));
        this.root.setAttribute("data-steps", String(state.steps));
        this.stepText.textContent = state.text;
        this.progress.style.setProperty("--done", state.steps ? String(step / state.steps) : "1");
        SIDES.forEach(function (name) {
            var side = state.sides[name];
            var shown = self.sides[name];
            shown.root.setAttribute("data-received-hex", side.received_hex);
            shown.call.textContent = side.call || "";
            shown.line.textContent = side.line ? " (line " + side.line + ")" : "";
            // The same key as book::view_key: received, delivered, the end or not.
            var key = (side.received_hex.length / 2) + "/" + side.path.delivered + "/" +
                (state.step === state.steps ? 1 : 0);
            var view = bytes[name][key];
            if (shown.bytes.sockstepView !== view) {
                shown.bytes.innerHTML = view;
                shown.bytes.sockstepView = view;
            }
            shown.where.textContent = "where the bytes are: " + side.path_text;
            shown.verdict.textContent = side.verdict || "";
            shown.verdict.className = "sockstep-player-verdict" +
                (side.verdict ? (side.verdict.charAt(0) === "✓" ? " ok" : " fail") : "");
        });
        this.markLines(state);
    };

    // Marks, in the page's listings of this run's language, the line of each
    // side's latest call.
    Player.prototype.markLines = function (state) {
        this.marked.forEach(function (line) {
            line.classList.remove("sockstep-line-now");
            line.removeAttribute("data-sockstep-sides");
        });
        this.marked = [];
        var wanted = this.run.views.listings;
        if (!this.listings) this.listings = chapterListings(this.root);
        // The page's listings are not those counted when the book was built.
        if (this.listings.length !== wanted.length) return;
        var self = this;
        SIDES.forEach(function (name) {
            var number = state.sides[name].line;
            if (!number) return;
            wanted.forEach(function (fileLines, i) {
                if (!fileLines) return;
                var at = fileLines.indexOf(number);
                if (at < 0) return;
                var line = codeLines(self.listings[i])[at];
                if (!line) return;
                var sides = line.getAttribute("data-sockstep-sides");
                line.setAttribute("data-sockstep-sides", sides ? sides + " " + name : name);
                line.classList.add("sockstep-line-now");
                self.marked.push(line);
            });
        });
    };

    function init() {
        document.querySelectorAll(".sockstep-player").forEach(function (root) {
            if (root.querySelector("script.sockstep-steps")) players.push(new Player(root));
        });
        // A link can open the page at a step: `page.html#sockstep-step=12`.
        var linked = /(?:^#|&)sockstep-step=(\d+)/.exec(window.location.hash);
        if (linked) {
            players.forEach(function (player) {
                player.show(Math.min(Number(linked[1]), player.last()));
            });
        }
    }

    // The reader picked another language in the code tabs.
    document.addEventListener("sockstep-lang", function (event) {
        players.forEach(function (player) { player.useLang(event.detail.lang); });
    });

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", init);
    } else {
        init();
    }
})();
