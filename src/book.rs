//! `sockstep mdbook`: an mdbook preprocessor that replaces each fenced `sockstep`
//! block in a lesson page with the diagram of a real loopback run made while the
//! book builds, and a player of the same run: every step's state (`render::steps`,
//! as `sockstep run --upto K --json` prints it) embedded as JSON for
//! `assets/sockstep-player.js`, in Rust and, where the page shows Python code, in
//! Python.
//!
//! ````markdown
//! ```sockstep
//! length-prefix seed=3
//! ```
//! ````
//!
//! Options: `seed=N` (default 1), `width=N` (stream bytes per diagram line,
//! default 40), and `from=N` / `to=N` to draw only those stream offsets of a long
//! run. Runs are in lockstep, so the book is the same on every build, but for the
//! send queues the kernel measured (rarely a few bytes not yet acknowledged just
//! after a write) and the wire sizes that follow from them.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;

use mdbook_preprocessor::book::{Book, BookItem};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::challenge::play::{self, PlayOptions, Program};
use crate::challenge::{level, report};
use crate::engine::{Mode, RunOptions, Side, Trace};
use crate::lesson::{self, Lang, Lesson};
use crate::render::{diagram, html, path, steps};
use crate::teaching;

/// A `sockstep` block the preprocessor cannot render.
#[derive(Debug, thiserror::Error)]
#[error("{page}: the sockstep block at line {line}: {problem}")]
pub struct BlockError {
    pub page: String,
    pub line: usize,
    pub problem: String,
}

/// What a block asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Block {
    pub lesson: String,
    pub seed: u64,
    pub width: usize,
    /// Stream offsets drawn.
    pub from: usize,
    pub to: usize,
}

/// Parses a block's body: a lesson, then `key=value` options.
pub fn parse_block(body: &str) -> Result<Block, String> {
    let mut words = body.split_whitespace();
    let lesson = words
        .next()
        .ok_or("it is empty; write a lesson slug, e.g. 'length-prefix seed=3'")?
        .to_string();
    let mut block = Block {
        lesson,
        seed: 1,
        width: 40,
        from: 0,
        to: usize::MAX,
    };
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("'{word}' is not an option; options look like seed=3"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{key}={value}: {key} takes a whole number"))
        };
        match key {
            "seed" => block.seed = number()?,
            "width" => block.width = number()?.clamp(8, 4096) as usize,
            "from" => block.from = number()? as usize,
            "to" => block.to = number()? as usize,
            _ => {
                return Err(format!(
                    "unknown option '{key}' (known: seed, width, from, to)"
                ));
            }
        }
    }
    if block.from >= block.to {
        return Err(format!(
            "from={} must come before to={}",
            block.from, block.to
        ));
    }
    Ok(block)
}

/// The diagram of a real run for one block, and the player of the same run.
pub fn render_block(block: &Block, listings: &[Listing]) -> Result<String, String> {
    let (number, lesson) = teaching::find(&block.lesson).map_err(|e| e.to_string())?;
    let options = RunOptions {
        seed: block.seed,
        mode: Mode::Lockstep,
        ..RunOptions::default()
    };
    // Python where the page shows the lesson's Python code: the player follows the
    // language the reader picks in its tabs.
    let python = listings.iter().any(|l| l.lang == Some(Lang::Python))
        && lesson.source_in(Lang::Python).is_some();
    let langs: &[Lang] = if python {
        &[Lang::Rust, Lang::Python]
    } else {
        &[Lang::Rust]
    };
    // The runs of both languages at once: the Python one starts an interpreter.
    let traces: Vec<Trace> = std::thread::scope(|scope| {
        let runs: Vec<_> = langs
            .iter()
            .map(|&lang| {
                let options = options.clone();
                scope.spawn(move || lesson.run_in(lang, options))
            })
            .collect();
        runs.into_iter()
            .zip(langs)
            .map(|(run, lang)| {
                run.join()
                    .map_err(|_| format!("the {} run panicked", lang.name()))?
                    .map_err(|e| format!("the {} run failed: {e}", lang.name()))
            })
            .collect::<Result<_, String>>()
    })?;
    let trace = &traces[0];
    if block.from > 0 && block.from >= trace.stream.len() {
        return Err(format!(
            "from={} is past the end of the run's stream, which is {} bytes",
            block.from,
            trace.stream.len()
        ));
    }
    let part = if block.from > 0 || block.to < trace.stream.len() {
        format!(
            ", bytes {} to {} of {}",
            block.from,
            block.to.min(trace.stream.len()),
            trace.stream.len()
        )
    } else {
        String::new()
    };
    let caption = format!(
        "Lesson {number}, {}: a real run over loopback, seed {}{part} (sockstep run {} --seed {})",
        lesson.slug, block.seed, lesson.slug, block.seed
    );
    let mut out = html::diagram(trace, &caption, block.width, block.from..block.to);
    out.push_str(&player(block, lesson, &traces, listings));
    Ok(out)
}

/// The player's element: no markup of its own but a line for readers without
/// JavaScript, and per language the run's steps (`run --upto K --json` for every
/// K) and what `assets/sockstep-player.js` draws them with.
fn player(block: &Block, lesson: &Lesson, traces: &[Trace], listings: &[Listing]) -> String {
    let mut out = format!(
        "<div class=\"sockstep-player\" data-lesson=\"{}\" data-seed=\"{}\">\n\
         <p class=\"sockstep-player-noscript\">With JavaScript on, a player steps through this run here, call by call.</p>\n",
        html::escape_str(lesson.slug),
        block.seed
    );
    for trace in traces {
        let lang = trace.language.as_str();
        let states = steps::states(trace);
        let views = serde_json::json!({
            "bytes": bytes_views(trace, &states, block),
            "listings": listing_lines(listings, lesson, lang),
        });
        let _ = write!(
            out,
            "<script type=\"application/json\" class=\"sockstep-steps\" data-lang=\"{lang}\">{}</script>\n\
             <script type=\"application/json\" class=\"sockstep-views\" data-lang=\"{lang}\">{}</script>\n",
            script_json(&states),
            script_json(&views),
        );
    }
    out.push_str("</div>\n");
    out
}

/// JSON that can stand inside a `<script>` element: no `<` to end it early.
fn script_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .expect("steps serialise")
        .replace('<', "\\u003c")
}

/// The key of the byte view a step shows for a side: the bytes received, the
/// messages delivered, and whether it is the run's end (the fates of the bytes
/// change only with those). `assets/sockstep-player.js` builds the same key.
pub fn view_key(state: &steps::StepState, side: Side) -> String {
    let shown = state.sides.side(side);
    format!(
        "{}/{}/{}",
        shown.received_hex.len() / 2,
        shown.path.delivered,
        u8::from(state.step == state.steps)
    )
}

/// Per side, the bytes its receiver had got, drawn as the diagram draws them with
/// the fate of each, for each step's `view_key` (`states`: the run's steps): the
/// player shows `bytes[side][key]`.
fn bytes_views(trace: &Trace, states: &[steps::StepState], block: &Block) -> serde_json::Value {
    let layout = diagram::Options {
        bytes_per_line: block.width,
        window: block.from..block.to,
        fates: true,
        ..diagram::Options::default()
    };
    let mut sides = serde_json::Map::new();
    for side in Side::BOTH {
        let events = &trace.side(side).events;
        let mut views = serde_json::Map::new();
        for state in states {
            let key = view_key(state, side);
            if views.contains_key(&key) {
                continue;
            }
            let calls = state.sides.side(side).calls;
            let made = &events[..calls];
            let source = diagram::Source {
                stream: &trace.stream,
                spans: &trace.spans,
                cuts: &trace.cuts,
                sides: vec![(side, diagram::reads(made))],
                fates: vec![path::fates(
                    events,
                    &trace.stream,
                    &trace.spans,
                    calls,
                    state.step == state.steps,
                )],
            };
            let mut grid = html::grid(&source, &layout);
            if grid.is_empty() {
                let what = if block.from > 0 || block.to < trace.stream.len() {
                    format!(
                        "no byte of {} to {} received yet",
                        block.from,
                        block.to.min(trace.stream.len())
                    )
                } else {
                    "nothing received yet".to_string()
                };
                grid = format!(
                    "<pre class=\"sockstep-diagram\"><span class=\"label {0}\">{0:<9}</span><span class=\"extra\">{what}</span></pre>\n",
                    side.name()
                );
            }
            views.insert(key, grid.into());
        }
        sides.insert(side.name().to_string(), views.into());
    }
    sides.into()
}

/// A code listing of a page: a fenced `rust` or `python` block, which mdbook
/// renders as `<pre><code class="language-rust">`, and what it includes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub lang: Option<Lang>,
    /// `{{#include PATH:ANCHOR}}` as the whole block, the path as written.
    pub include: Option<(String, String)>,
}

/// The page's Rust and Python listings in page order, as the player finds them in
/// the built page (`pre > code.language-rust, pre > code.language-python`), each
/// with its include from the author's `source`. Without the source, or when it
/// holds other listings than `content` (an include brought in its own), the
/// includes are unknown and no line is marked.
pub fn listings(content: &str, source: Option<&str>) -> Vec<Listing> {
    let found = |text: &str| -> Vec<Listing> {
        let mut found = Vec::new();
        let mut current: Option<(Option<Lang>, String)> = None;
        for event in Parser::new_ext(text, markdown_options()) {
            match event {
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                    let lang = info.split([',', ' ', '\t']).next().unwrap_or_default();
                    let lang = match lang {
                        "rust" => Some(Lang::Rust),
                        "python" => Some(Lang::Python),
                        _ => None,
                    };
                    current = lang.map(|lang| (Some(lang), String::new()));
                }
                Event::Text(body) => {
                    if let Some((_, text)) = &mut current {
                        text.push_str(&body);
                    }
                }
                Event::End(TagEnd::CodeBlock) => {
                    if let Some((lang, body)) = current.take() {
                        found.push(Listing {
                            lang,
                            include: include_of(&body),
                        });
                    }
                }
                _ => {}
            }
        }
        found
    };
    let shown = found(content);
    match source.map(found) {
        Some(authored)
            if authored.len() == shown.len()
                && authored.iter().zip(&shown).all(|(a, s)| a.lang == s.lang) =>
        {
            authored
        }
        _ => shown
            .into_iter()
            .map(|listing| Listing {
                include: None,
                ..listing
            })
            .collect(),
    }
}

/// `{{#include PATH:ANCHOR}}`, when that is all the block holds.
fn include_of(body: &str) -> Option<(String, String)> {
    let target = body
        .trim()
        .strip_prefix("{{#include ")?
        .strip_suffix("}}")?
        .trim();
    let (path, anchor) = target.rsplit_once(':')?;
    // `PATH:10` and `PATH:10:20` are line ranges, not anchors.
    (!anchor.is_empty() && anchor.parse::<u32>().is_err())
        .then(|| (path.to_string(), anchor.to_string()))
}

/// For each listing, the line of the lesson's `lang` file each of its lines shows,
/// when it shows an anchor of that file; `null` for any other listing.
fn listing_lines(listings: &[Listing], lesson: &Lesson, lang: &str) -> Vec<Option<Vec<u32>>> {
    let lang = Lang::ALL.into_iter().find(|l| l.name() == lang);
    listings
        .iter()
        .map(|listing| {
            let lang = lang.filter(|&lang| listing.lang == Some(lang))?;
            let (path, anchor) = listing.include.as_ref()?;
            let file = lesson.source_path_in(lang)?;
            // Pages include by a path relative to themselves: `../src/teaching/x.rs`.
            if path.trim_start_matches("../") != file {
                return None;
            }
            let lines = lesson::anchor_lines(lesson.source_in(lang)?, anchor)?;
            Some(lines.into_iter().map(|(number, _)| number).collect())
        })
        .collect()
}

/// Which preprocessor block: a lesson's run, or a challenge directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// ```` ```sockstep ````: a diagram of a lesson's run.
    Run,
    /// ```` ```sockstep-challenge ````: the levels table, a real failure report, or
    /// the JSON report's fields.
    Challenge,
}

/// A ```` ```sockstep-challenge ```` block, one of:
/// - `levels`: the levels table (name, lesson, each request), from `level::levels()`;
/// - `report LEVEL seed=N -- CMD ARG...`: the text report of a real run of `CMD`
///   (run from the book's root) against LEVEL with seed N;
/// - `schema`: the JSON report's fields, from `assets/challenge-report.schema.json`.
pub fn render_challenge_block(body: &str) -> Result<String, String> {
    let body = body.trim();
    let (word, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
    match word {
        "levels" if rest.trim().is_empty() => Ok(challenge_levels_table()),
        "schema" if rest.trim().is_empty() => challenge_schema_table(),
        "report" => challenge_report(rest),
        "levels" | "schema" => Err(format!("'{word}' takes no options")),
        _ => Err(format!(
            "'{word}' is not a challenge directive (known: levels, report, schema)"
        )),
    }
}

/// The levels as a Markdown table, each linked to its lesson's page.
fn challenge_levels_table() -> String {
    let mut out = String::from("| level | practises the lesson | each request |\n|---|---|---|\n");
    for found in level::levels() {
        out.push_str(&format!(
            "| `{}` | [{}]({}.md) | {} |\n",
            found.id,
            found.lesson(),
            found.lesson(),
            found.summary.replace('|', "\\|")
        ));
    }
    out
}

/// A real report: `LEVEL seed=N -- CMD ARG...`, played as `sockstep challenge` would.
fn challenge_report(rest: &str) -> Result<String, String> {
    let (head, command) = rest
        .split_once(" -- ")
        .ok_or("a report needs the program after ' -- ', e.g. 'report length-prefix seed=1 -- python3 server.py {port}'")?;
    let mut words = head.split_whitespace();
    let name = words.next().ok_or("a report needs a level")?;
    let found = level::find(name).ok_or_else(|| format!("there is no level named '{name}'"))?;
    let mut seed = 1;
    for word in words {
        match word.split_once('=') {
            Some(("seed", value)) => {
                seed = value
                    .parse()
                    .map_err(|_| format!("seed={value}: seed takes a whole number"))?;
            }
            _ => return Err(format!("unknown option '{word}' (known: seed)")),
        }
    }
    let argv = shlex::split(command)
        .filter(|argv| !argv.is_empty())
        .ok_or_else(|| format!("the program '{command}' does not split into words"))?;
    let options = PlayOptions {
        levels: vec![found.id.to_string()],
        seed,
        slow: 1.0,
        program: Program::Command(argv),
        keep_going: false,
        trace: true,
        memory_limit: Some(report::DEFAULT_MEMORY_MB * 1024 * 1024),
        replay_prefix: vec!["sockstep".into(), "challenge".into()],
    };
    let text = match play::play(&options, &mut |_| {}) {
        Ok(mut run) => {
            run.replay = report::replay(&options);
            report::text(&run, false)
        }
        Err(error) => format!(
            "[sockstep] {error}\n[sockstep] replay: {}\n",
            report::replay(&options)
        ),
    };
    let caption = format!(
        "A real report, made while this book was built: {}",
        report::replay(&options)
    );
    // No blank line inside, so that Markdown keeps the HTML block whole.
    let pre = html::escape_str(text.trim_end()).replace("\n\n", "\n<span></span>\n");
    Ok(format!(
        "<div class=\"sockstep-run\">\n\
         <p class=\"sockstep-caption\">{}</p>\n\
         <pre class=\"sockstep-diagram sockstep-challenge-report\">{pre}</pre>\n</div>\n",
        html::escape_str(&caption)
    ))
}

/// The JSON report's fields as Markdown tables, one per object, from the schema.
fn challenge_schema_table() -> Result<String, String> {
    let schema: serde_json::Value = serde_json::from_str(report::SCHEMA)
        .map_err(|e| format!("assets/challenge-report.schema.json: {e}"))?;
    let mut out = String::new();
    schema_object(&schema, &schema, "the report", &mut out);
    Ok(out)
}

/// `node` with its `$ref` followed.
fn resolved<'a>(root: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    match node["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(path) => path.split('/').fold(root, |at, key| &at[key]),
        None => node,
    }
}

/// The object (or `null`) behind `node`, if it is one with properties.
fn object_of<'a>(
    root: &'a serde_json::Value,
    node: &'a serde_json::Value,
) -> Option<&'a serde_json::Value> {
    let node = resolved(root, node);
    if node.get("properties").is_some()
        || node
            .get("oneOf")
            .is_some_and(|o| o[0].get("properties").is_some())
    {
        return Some(node);
    }
    node["oneOf"]
        .as_array()?
        .iter()
        .map(|branch| resolved(root, branch))
        .find(|branch| branch.get("properties").is_some())
}

/// A field's type in words.
fn schema_type(root: &serde_json::Value, node: &serde_json::Value) -> String {
    let node = resolved(root, node);
    if let Some(value) = node.get("const") {
        return format!("`{value}`");
    }
    if let Some(values) = node["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
            .collect();
        return values.join(", ");
    }
    if node["type"] == "object" {
        return "object".to_string();
    }
    if let Some(branches) = node["oneOf"].as_array() {
        let types: Vec<String> = branches.iter().map(|b| schema_type(root, b)).collect();
        return types.join(" or ");
    }
    if node["pattern"].is_string() {
        return "hex string".to_string();
    }
    match &node["type"] {
        serde_json::Value::String(t) if t == "array" => {
            format!("array of {}", schema_type(root, &node["items"]))
        }
        serde_json::Value::String(t) => t.clone(),
        serde_json::Value::Array(types) => types
            .iter()
            .filter_map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" or "),
        _ if node.get("properties").is_some() => "object".to_string(),
        _ => "any".to_string(),
    }
}

fn schema_object(root: &serde_json::Value, node: &serde_json::Value, name: &str, out: &mut String) {
    let mut properties: Vec<(String, &serde_json::Value)> = Vec::new();
    let branches: Vec<&serde_json::Value> = match node["oneOf"].as_array() {
        Some(branches) => branches.iter().collect(),
        None => vec![node],
    };
    for branch in branches {
        if let Some(map) = branch["properties"].as_object() {
            for (key, value) in map {
                match properties.iter_mut().find(|(k, _)| k == key) {
                    Some(_) => {}
                    None => properties.push((key.clone(), value)),
                }
            }
        }
    }
    if let Some(map) = node["properties"]
        .as_object()
        .filter(|_| node.get("oneOf").is_some())
    {
        for (key, value) in map {
            if !properties.iter().any(|(k, _)| k == key) {
                properties.push((key.clone(), value));
            }
        }
    }
    out.push_str(&format!(
        "\n**{name}**\n\n| field | type | meaning |\n|---|---|---|\n"
    ));
    let mut nested = Vec::new();
    for (key, value) in &properties {
        let field = resolved(root, value);
        let mut meaning = field["description"]
            .as_str()
            .or(value["description"].as_str())
            .or(node["oneOf"]
                .as_array()
                .and_then(|branches| {
                    branches
                        .iter()
                        .find(|b| b["properties"].get(key.as_str()).is_some())
                        .and_then(|b| b["description"].as_str())
                })
                .filter(|_| key == "op"))
            .unwrap_or("")
            .to_string();
        // The ops of a step are enumerated per branch: list them all.
        let kind = if key == "op" {
            let ops: Vec<String> = node["oneOf"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|b| {
                    b["properties"]["op"]["enum"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
                .collect();
            meaning = node["oneOf"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["description"].as_str())
                .map(|d| d.trim_end_matches('.'))
                .collect::<Vec<_>>()
                .join("; ");
            ops.join(", ")
        } else {
            schema_type(root, value)
        };
        out.push_str(&format!(
            "| `{key}` | {} | {} |\n",
            kind.replace('|', "\\|"),
            meaning.replace('|', "\\|")
        ));
        let items = if field["type"] == "array" {
            &field["items"]
        } else {
            *value
        };
        if let Some(object) = object_of(root, items) {
            let suffix = if field["type"] == "array" { "[]" } else { "" };
            nested.push((format!("{key}{suffix}"), object));
        }
    }
    for (key, object) in nested {
        let inner = if name == "the report" {
            key
        } else {
            format!("{name}.{key}")
        };
        schema_object(root, object, &inner, out);
    }
}

/// A `sockstep` block as the Markdown parser found it in a page.
struct Found {
    kind: Kind,
    /// Byte range of the whole block, fences included.
    range: std::ops::Range<usize>,
    /// 1-based line of its opening fence.
    line: usize,
    body: String,
    closed: bool,
}

/// Options as mdbook's own parser sets them, so blocks are found where mdbook finds
/// them.
fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_DEFINITION_LIST
        | Options::ENABLE_GFM
}

/// Every fenced block whose info string is `sockstep`, wherever CommonMark puts one
/// (block quotes and list items too; never inside other code).
fn find_blocks(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut current: Option<Found> = None;
    for (event, range) in Parser::new_ext(text, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if matches!(
                    info.split_whitespace().next(),
                    Some("sockstep" | "sockstep-challenge")
                ) =>
            {
                let kind = if info.split_whitespace().next() == Some("sockstep") {
                    Kind::Run
                } else {
                    Kind::Challenge
                };
                current = Some(Found {
                    kind,
                    line: text[..range.start].matches('\n').count() + 1,
                    closed: is_closed(&text[range.clone()]),
                    range,
                    body: String::new(),
                });
            }
            Event::Text(body) => {
                if let Some(block) = &mut current {
                    block.body.push_str(&body);
                }
            }
            Event::End(TagEnd::CodeBlock) => found.extend(current.take()),
            _ => {}
        }
    }
    found
}

/// Whether a fenced block's text ends with a closing fence: the parser runs an
/// unclosed one to the end of its container without a word.
fn is_closed(block: &str) -> bool {
    let fence = |line: &str| {
        let line = line.trim_start_matches([' ', '\t', '>']).trim_end();
        let marker = line.chars().next().filter(|c| matches!(c, '`' | '~'))?;
        let length = line.len() - line.trim_start_matches(marker).len();
        Some((marker, length, line.len() == length))
    };
    let mut lines = block.lines();
    let Some((marker, length, _)) = lines.next().and_then(fence) else {
        return false;
    };
    lines
        .rfind(|line| !line.trim_start_matches([' ', '\t', '>']).trim().is_empty())
        .and_then(fence)
        .is_some_and(|(m, l, only)| m == marker && l >= length && only)
}

/// Replaces every `sockstep` block of one page. `source` is the page as its author
/// wrote it (before mdbook expanded includes), when it can be read: errors then name
/// the author's line.
pub fn process_page(page: &str, content: &str, source: Option<&str>) -> Result<String, BlockError> {
    let blocks = find_blocks(content);
    // The same blocks in the same order in the author's file, unless an include
    // brought in blocks of its own.
    let author_lines: Option<Vec<usize>> = source
        .map(|source| find_blocks(source).iter().map(|b| b.line).collect())
        .filter(|lines: &Vec<usize>| lines.len() == blocks.len());
    let page_listings = listings(content, source);
    let mut out = String::with_capacity(content.len());
    let mut written = 0;
    for (index, found) in blocks.iter().enumerate() {
        let error = |problem: String| BlockError {
            page: page.to_string(),
            line: author_lines
                .as_ref()
                .map_or(found.line, |lines| lines[index]),
            problem,
        };
        if !found.closed {
            return Err(error("the block is never closed".into()));
        }
        let html = match found.kind {
            Kind::Run => render_block(&parse_block(&found.body).map_err(error)?, &page_listings),
            Kind::Challenge => render_challenge_block(&found.body),
        }
        .map_err(error)?;
        out.push_str(&content[written..found.range.start]);
        out.push_str(&in_container(
            &html,
            container_prefix(content, found.range.start),
        ));
        // The HTML ends its last line; the parser's range may stop short of it.
        written = found.range.end;
        if !content[..written].ends_with('\n') && content[written..].starts_with('\n') {
            written += 1;
        }
    }
    out.push_str(&content[written..]);
    Ok(out)
}

/// What each further line of a block must start with to stay in the same block quote
/// or list item as the block's first line: its `>` markers, and spaces for the rest.
fn container_prefix(content: &str, start: usize) -> String {
    let line_start = content[..start].rfind('\n').map_or(0, |i| i + 1);
    content[line_start..start]
        .chars()
        .map(|c| if matches!(c, '>' | '\t') { c } else { ' ' })
        .collect()
}

/// `html`'s lines after the first, each behind `prefix`.
fn in_container(html: &str, prefix: String) -> String {
    if prefix.is_empty() {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    for (i, line) in html.lines().enumerate() {
        if i > 0 {
            out.push_str(&prefix);
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Runs every block of the book; the first bad one fails the build. `pages` is the
/// folder of the page sources (`root/src` of the book).
pub fn process_book(mut book: Book, pages: &Path, shown_as: &Path) -> Result<Book, BlockError> {
    let mut jobs = Vec::new();
    book.for_each_mut(|item| {
        if let BookItem::Chapter(chapter) = item {
            let (page, source) = match &chapter.source_path {
                Some(path) => (
                    shown_as.join(path).display().to_string(),
                    std::fs::read_to_string(pages.join(path)).ok(),
                ),
                None => (chapter.name.clone(), None),
            };
            jobs.push((page, chapter.content.clone(), source));
        }
    });
    let mut done = in_parallel(&jobs, |(page, content, source)| {
        process_page(page, content, source.as_deref())
    })
    .into_iter();
    // The same walk, so each page gets its own result.
    let mut failure = None;
    book.for_each_mut(|item| {
        if let BookItem::Chapter(chapter) = item {
            match done.next() {
                Some(Ok(content)) if failure.is_none() => chapter.content = content,
                Some(Err(error)) if failure.is_none() => failure = Some(error),
                _ => {}
            }
        }
    });
    match failure {
        Some(error) => Err(error),
        None => Ok(book),
    }
}

/// `work` on each job, several at a time, the results in the jobs' order. A page's
/// runs mostly wait (on the wire's steps, on a Python interpreter starting), so
/// pages run side by side even on few cores.
fn in_parallel<J: Sync, R: Send>(jobs: &[J], work: impl Fn(&J) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const WORKERS: usize = 4;
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS.min(jobs.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let at = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(at) else {
                            return done;
                        };
                        done.push((at, work(job)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a page's worker does not panic"))
            .collect()
    });
    done.sort_by_key(|(at, _)| *at);
    done.into_iter().map(|(_, result)| result).collect()
}

/// The preprocessor protocol: `[context, book]` JSON in, the book JSON out.
pub fn run_preprocessor(input: impl Read, output: impl Write) -> anyhow::Result<()> {
    let (context, book) = mdbook_preprocessor::parse_input(input)?;
    let src = &context.config.book.src;
    let book = process_book(book, &context.root.join(src), src)?;
    serde_json::to_writer(output, &book)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_levels_table_lists_every_level_in_order_linked_to_its_lesson() {
        let table = render_challenge_block("levels\n").unwrap();
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(rows.len(), level::levels().len(), "{table}");
        for (row, found) in rows.iter().zip(level::levels()) {
            assert!(
                row.starts_with(&format!(
                    "| `{}` | [{}]({}.md) |",
                    found.id,
                    found.lesson(),
                    found.lesson()
                )),
                "{row}"
            );
        }
    }

    #[test]
    fn the_schema_tables_name_every_field_with_its_meaning() {
        let tables = render_challenge_block("schema").unwrap();
        let schema: serde_json::Value = serde_json::from_str(report::SCHEMA).unwrap();
        for key in schema["properties"].as_object().unwrap().keys() {
            assert!(
                tables.contains(&format!("| `{key}` |")),
                "{key} in\n{tables}"
            );
        }
        for object in [
            "levels[]",
            "levels[].schedule[]",
            "levels[].failure",
            "levels[].failure.calls[]",
            "program",
        ] {
            assert!(
                tables.contains(&format!("**{object}**")),
                "{object} in\n{tables}"
            );
        }
        for key in [
            "expected_hex",
            "first_diff",
            "kill_reason",
            "output_tail",
            "peer_port",
            "op",
        ] {
            assert!(
                tables.contains(&format!("| `{key}` |")),
                "{key} in\n{tables}"
            );
        }
        assert!(tables.contains("`write`, `read`, `connect`"), "{tables}");
        assert!(
            tables.contains("The offset of the first byte that differs"),
            "{tables}"
        );
    }

    #[test]
    fn a_report_block_is_one_html_block_with_the_replay_command() {
        let html = render_challenge_block(
            "report length-prefix seed=1 -- python3 tests/fixtures/challenge/naive_server.py {port} {level}",
        )
        .unwrap();
        assert!(html.starts_with("<div class=\"sockstep-run\">"), "{html}");
        assert!(
            html.contains("<pre class=\"sockstep-diagram sockstep-challenge-report\">"),
            "{html}"
        );
        assert!(!html.contains("\n\n"), "{html}");
        assert!(
            html.contains("sockstep challenge length-prefix --seed 1 -- python3 tests/fixtures/challenge/naive_server.py"),
            "{html}"
        );
    }

    #[test]
    fn a_report_block_shows_the_naive_servers_real_failure() {
        let html = render_challenge_block(
            "report length-prefix seed=1 -- python3 tests/fixtures/challenge/naive_server.py {port} {level}",
        )
        .unwrap();
        assert!(html.contains("✗"), "{html}");
        assert!(html.contains("hint:"), "{html}");
        assert!(
            html.contains("[sockstep] replay: sockstep challenge length-prefix --seed 1"),
            "{html}"
        );
    }

    #[test]
    fn a_bad_challenge_block_says_what_is_wrong() {
        assert!(
            render_challenge_block("levle")
                .unwrap_err()
                .contains("known: levels, report, schema")
        );
        assert!(
            render_challenge_block("report nope seed=1 -- x")
                .unwrap_err()
                .contains("'nope'")
        );
        assert!(
            render_challenge_block("report delimiter seed=1")
                .unwrap_err()
                .contains("' -- '")
        );
        assert!(
            render_challenge_block("report delimiter seed=x -- y")
                .unwrap_err()
                .contains("whole number")
        );
        let page = "```sockstep-challenge\nlevels extra\n```\n";
        let error = process_page("lessons/challenges.md", page, None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "lessons/challenges.md: the sockstep block at line 1: 'levels' takes no options"
        );
    }

    #[test]
    fn parses_lesson_and_options() {
        assert_eq!(
            parse_block("length-prefix seed=3 width=32\n").unwrap(),
            Block {
                lesson: "length-prefix".into(),
                seed: 3,
                width: 32,
                from: 0,
                to: usize::MAX,
            }
        );
        let window = parse_block("partial-send from=4000 to=4200").unwrap();
        assert_eq!((window.from, window.to), (4000, 4200));
        assert!(
            parse_block("x from=9 to=3")
                .unwrap_err()
                .contains("must come before")
        );
        assert!(parse_block("").unwrap_err().contains("empty"));
        assert!(
            parse_block("x colour=red")
                .unwrap_err()
                .contains("unknown option 'colour'")
        );
        assert!(
            parse_block("x seed=-1")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(parse_block("x seed").unwrap_err().contains("not an option"));
    }

    #[test]
    fn replaces_only_sockstep_blocks() {
        let page =
            "# T\n\n```rust\nlet x = 1;\n```\n\n```sockstep\nlength-prefix seed=3\n```\n\nafter\n";
        let out = process_page("lessons/t.md", page, None).unwrap();
        assert!(out.contains("```rust\nlet x = 1;\n```"));
        assert!(out.contains("<div class=\"sockstep-run\">"));
        assert!(out.contains("<span class=\"cut\">┊</span>"));
        assert!(out.contains("after"));
        assert!(!out.contains("```sockstep"));
    }

    #[test]
    fn a_sockstep_block_inside_another_fence_is_left_alone() {
        let page = "````markdown\n```sockstep\nlength-prefix\n```\n````\n";
        assert_eq!(process_page("p", page, None).unwrap(), page);
    }

    /// The `<div class="sockstep-run">` diagrams in `out`.
    fn diagrams(out: &str) -> usize {
        out.matches("<div class=\"sockstep-run\">").count()
    }

    #[test]
    fn a_closing_fence_longer_than_its_opener_ends_the_block() {
        let page =
            "```sockstep\nlength-prefix seed=3\n`````\n\ntext\n\n```sockstep\nrecv-zero\n```\n";
        let out = process_page("p", page, None).unwrap();
        assert_eq!(diagrams(&out), 2, "{out}");
        assert!(!out.contains("```"), "{out}");
        assert!(out.contains("\ntext\n"));
    }

    #[test]
    fn a_block_in_a_block_quote_is_rendered_inside_the_quote() {
        let page = "> Look:\n>\n> ```sockstep\n> length-prefix seed=3\n> ```\n\nafter\n";
        let out = process_page("p", page, None).unwrap();
        assert_eq!(diagrams(&out), 1, "{out}");
        let quoted = &out[..out.find("\n\nafter").unwrap()];
        assert!(quoted.lines().all(|l| l.starts_with('>')), "{out}");
        // Markdown sees the diagram as HTML inside the quote.
        let html: String = pulldown_cmark::Parser::new(&out)
            .skip_while(|e| {
                !matches!(
                    e,
                    pulldown_cmark::Event::Start(pulldown_cmark::Tag::BlockQuote(_))
                )
            })
            .take_while(|e| {
                !matches!(
                    e,
                    pulldown_cmark::Event::End(pulldown_cmark::TagEnd::BlockQuote(_))
                )
            })
            .filter_map(|e| match e {
                pulldown_cmark::Event::Html(html) => Some(html.into_string()),
                _ => None,
            })
            .collect();
        assert!(
            html.contains("<div class=\"sockstep-run\">") && html.contains("</div>"),
            "{html}"
        );
    }

    #[test]
    fn a_block_in_a_list_item_stays_in_the_item() {
        let page = "- first\n- ```sockstep\n  length-prefix seed=3\n  ```\n- third\n";
        let out = process_page("p", page, None).unwrap();
        assert_eq!(diagrams(&out), 1, "{out}");
        let items = pulldown_cmark::Parser::new(&out)
            .filter(|e| matches!(e, pulldown_cmark::Event::Start(pulldown_cmark::Tag::Item)))
            .count();
        assert_eq!(items, 3, "{out}");
        assert!(out.ends_with("</div>\n- third\n"), "{out}");
    }

    #[test]
    fn an_indented_fake_fence_is_code_not_a_block() {
        let page = "text\n\n    ```sockstep\n    xyz\n    ```\n";
        assert_eq!(process_page("p", page, None).unwrap(), page);
    }

    #[test]
    fn a_block_never_closed_is_an_error() {
        let error = process_page("p", "a\n\n```sockstep\nlength-prefix\n", None).unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.problem.contains("never closed"), "{error}");
    }

    #[test]
    fn a_bad_block_names_page_line_and_problem() {
        let page = "intro\n\n```sockstep\nxyz seed=1\n```\n";
        let error = process_page("lessons/bad.md", page, None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "lessons/bad.md: the sockstep block at line 3: no lesson 'xyz'; run 'sockstep list'"
        );
    }

    /// The JSON of each `<script class="CLASS" data-lang="LANG">` in `html`.
    fn scripts(html: &str, class: &str) -> Vec<(String, serde_json::Value)> {
        let open = format!("<script type=\"application/json\" class=\"{class}\" data-lang=\"");
        html.split(&open)
            .skip(1)
            .map(|rest| {
                let (lang, rest) = rest.split_once("\">").unwrap();
                let json = &rest[..rest.find("</script>").unwrap()];
                (lang.to_string(), serde_json::from_str(json).unwrap())
            })
            .collect()
    }

    const PAGE: &str = "# Split\n\n```sockstep\nlength-prefix seed=3\n```\n\n\
        ```rust\n{{#include ../src/teaching/length_prefix.rs:naive}}\n```\n\n\
        ```python\n{{#include ../src/teaching/python/length_prefix.py:naive}}\n```\n\n\
        ```console\nsockstep run length-prefix\n```\n";

    /// `PAGE` as mdbook hands it over: its includes expanded.
    fn expanded() -> String {
        let (_, lesson) = teaching::find("length-prefix").unwrap();
        lesson::resolve_includes(PAGE, |path, name| {
            let path = path.trim_start_matches("../");
            let lang = Lang::ALL
                .into_iter()
                .find(|&lang| lesson.source_path_in(lang) == Some(path))?;
            lesson::anchor(lesson.source_in(lang)?, name)
        })
    }

    #[test]
    fn a_block_embeds_every_step_of_its_run_in_each_language_the_page_shows() {
        let out = process_page("p", &expanded(), Some(PAGE)).unwrap();
        let player = &out[out.find("<div class=\"sockstep-player\"").unwrap()..];
        assert!(
            player.starts_with(
                "<div class=\"sockstep-player\" data-lesson=\"length-prefix\" data-seed=\"3\">"
            ),
            "{player}"
        );
        assert!(out.find("<div class=\"sockstep-run\">").unwrap() < out.find(player).unwrap());
        let (_, lesson) = teaching::find("length-prefix").unwrap();
        let steps = scripts(&out, "sockstep-steps");
        assert_eq!(
            steps
                .iter()
                .map(|(lang, _)| lang.as_str())
                .collect::<Vec<_>>(),
            ["rust", "python"],
            "Rust first: the run `sockstep run` makes without --lang"
        );
        for (lang, states) in steps {
            let lang = Lang::ALL.into_iter().find(|l| l.name() == lang).unwrap();
            let trace = lesson
                .run_in(
                    lang,
                    RunOptions {
                        seed: 3,
                        ..RunOptions::default()
                    },
                )
                .unwrap();
            let states: Vec<steps::StepState> = serde_json::from_value(states).unwrap();
            assert_eq!(states, steps::states(&trace), "{lang:?}");
        }
        // Markdown keeps it all one HTML block.
        let html = &out[out.find("<div").unwrap()..out.rfind("</div>").unwrap()];
        assert!(!html.contains("\n\n"), "{html}");
    }

    #[test]
    fn the_views_draw_each_sides_bytes_and_map_the_listings_to_file_lines() {
        let out = process_page("p", &expanded(), Some(PAGE)).unwrap();
        let (_, lesson) = teaching::find("length-prefix").unwrap();
        for (lang, views) in scripts(&out, "sockstep-views") {
            let lang = Lang::ALL.into_iter().find(|l| l.name() == lang).unwrap();
            let naive: Vec<u32> = lesson
                .side_code_in(lang, Side::Naive)
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            let listings = &views["listings"];
            let expected = match lang {
                Lang::Rust => serde_json::json!([naive, null]),
                Lang::Python => serde_json::json!([null, naive]),
            };
            assert_eq!(*listings, expected, "{lang:?}");
            // "00", then "0" delivered, then "005he", then the end: views at 0,
            // 2 (before and after the delivery) and 7 bytes received, and the end.
            let bytes = views["bytes"]["naive"].as_object().unwrap();
            let keys: Vec<&str> = bytes.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["0/0/0", "2/0/0", "2/1/0", "7/1/0", "7/1/1"],
                "{lang:?}"
            );
            assert!(
                bytes["0/0/0"]
                    .as_str()
                    .unwrap()
                    .contains("nothing received yet")
            );
            // At the end what it read and never delivered is dropped: struck out.
            assert!(
                bytes["7/1/1"]
                    .as_str()
                    .unwrap()
                    .contains("class=\"dropped\"")
            );
            assert!(
                !bytes["7/1/0"]
                    .as_str()
                    .unwrap()
                    .contains("class=\"dropped\"")
            );
            let two = bytes["7/1/0"].as_str().unwrap();
            assert!(two.starts_with("<pre class=\"sockstep-diagram\">"), "{two}");
            assert!(two.contains("<span class=\"both\">┃</span>"), "{two}");
        }
    }

    #[test]
    fn the_embedded_json_cannot_end_its_script_early() {
        assert_eq!(
            script_json(&serde_json::json!({"a": "</script><!--"})),
            r#"{"a":"\u003c/script>\u003c!--"}"#
        );
        let out = process_page("p", &expanded(), Some(PAGE)).unwrap();
        for script in out.split("<script").skip(1) {
            let body = &script[script.find('>').unwrap() + 1..script.find("</script>").unwrap()];
            assert!(!body.contains('<'), "{body}");
        }
    }

    #[test]
    fn a_page_without_python_code_embeds_the_rust_run_only() {
        let out = process_page("p", "```sockstep\nwelcome seed=2\n```\n", None).unwrap();
        let langs: Vec<String> = scripts(&out, "sockstep-steps")
            .into_iter()
            .map(|(lang, _)| lang)
            .collect();
        assert_eq!(langs, ["rust"]);
        // No listings: nothing to mark.
        let views = &scripts(&out, "sockstep-views")[0].1;
        assert_eq!(views["listings"], serde_json::json!([]));
    }

    #[test]
    fn listings_come_from_the_source_only_when_it_holds_the_same_ones() {
        let shown = "```rust\nfn a() {}\n```\n\n```python\ndef a(): pass\n```\n";
        let source =
            "```rust\n{{#include ../x.rs:a}}\n```\n\n```python\n{{#include ../x.py:a}}\n```\n";
        let include = |path: &str, anchor: &str| Some((path.to_string(), anchor.to_string()));
        assert_eq!(
            listings(shown, Some(source)),
            [
                Listing {
                    lang: Some(Lang::Rust),
                    include: include("../x.rs", "a"),
                },
                Listing {
                    lang: Some(Lang::Python),
                    include: include("../x.py", "a"),
                },
            ]
        );
        // An include brought in a listing of its own: the author's are not these.
        let more = format!("{shown}\n```rust\nfn b() {{}}\n```\n");
        assert!(
            listings(&more, Some(source))
                .iter()
                .all(|l| l.include.is_none())
        );
        // Line ranges and whole files name no anchor.
        assert_eq!(include_of("{{#include ../x.rs:3:9}}"), None);
        assert_eq!(include_of("{{#include ../x.rs}}"), None);
        assert_eq!(include_of("{{#include ../x.rs:naive}}\nmore"), None);
    }
}
