//! The book's step-by-step player in a real browser: headless chromium driven over
//! WebDriver (chromedriver, Debian's `chromium-driver`), on pages opened from disk.
//! The player is driven by keys and buttons as a reader would; at each step the DOM
//! must show what `sockstep run LESSON --seed N --upto K --json` computes.
//!
//! Ignored by `cargo test`, since a machine with only a Rust toolchain has no
//! chromium, chromedriver or built book; `.ci/run` runs them after `mdbook build`:
//! `SOCKSTEP_BOOK=book cargo test --test book_player -- --ignored`. Run, they fail
//! (never skip) when chromium, chromedriver or the book is missing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, Once, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use rustix::process::{
    Pid, Signal, WaitOptions, kill_process, kill_process_group, test_kill_process_group, waitpgid,
    waitpid,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sockstep::render::steps::StepState;

/// How long the harness waits for the browser to reach a state before failing.
/// A bound against hanging, not a speed check: a loaded machine only gets slower.
const PATIENCE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------
// What each test points the harness at.

/// One page with a player, and where the expected states come from.
struct PageUnderTest {
    /// The file the browser opens.
    file: PathBuf,
    /// The screenshots' names: `NAME-light.png`, `NAME-navy.png`.
    name: &'static str,
    oracle: Oracle,
    /// Whether the page shows the lesson's code, so a step with a call must
    /// highlight a line there.
    has_listings: bool,
}

/// The state at step K of the player's run.
enum Oracle {
    /// The real one: the built binary, `sockstep run LESSON --seed N --upto K --json`.
    Sockstep,
    /// The steps the page embeds (the fixture's made-up run), to test the harness.
    Embedded,
}

#[test]
#[ignore = "needs chromium, chromedriver and a built book: .ci/run runs it"]
fn length_prefix_player_shows_sockstep_run_upto() {
    let book = std::env::var_os("SOCKSTEP_BOOK")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("book"));
    let file = book.join("length-prefix.html");
    assert!(
        file.is_file(),
        "the browser test needs a built book, and {} does not exist: run `mdbook build` (or set SOCKSTEP_BOOK to the book's folder)",
        file.display()
    );
    check_player(PageUnderTest {
        file,
        name: "length-prefix",
        oracle: Oracle::Sockstep,
        has_listings: true,
    });
}

/// The harness itself, on a stand-in player that keeps the DOM contract.
#[test]
#[ignore = "needs chromium and chromedriver: .ci/run runs it"]
fn harness_drives_the_fixture_player() {
    check_player(PageUnderTest {
        file: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/player-fixture.html"),
        name: "player-fixture",
        oracle: Oracle::Embedded,
        has_listings: true,
    });
}

// ---------------------------------------------------------------------------------
// The checks, the same for every page.

fn check_player(page: PageUnderTest) {
    let page = Arc::new(page);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        with_browser(Scripts::On, {
            let page = page.clone();
            move |tab| scripted(tab, page)
        })
        .await;
        with_browser(Scripts::Off, move |tab| unscripted(tab, page)).await;
    });
}

/// Keys and buttons step the player, which shows each step as `sockstep run` does.
async fn scripted(tab: Client, page: Arc<PageUnderTest>) {
    let tab = &tab;
    let url = file_url(&page.file);
    tab.goto(&url).await.expect("open the page");
    let player = first_player(tab, &page.file).await;
    let seen = ready(tab, &player).await;
    let (lesson, seed) = (seen.lesson.clone(), seen.seed.clone());
    let states = States::new(tab, &player, &page, &lesson, &seed).await;
    accessible(&player, &seen).await;
    states.check(&seen, "on load");
    to_start(tab, &player, &states).await;

    // The keyboard: → three times, ← once.
    focus(tab, &player).await;
    for k in 1..=3 {
        key(tab, Key::Right).await;
        expect_step(tab, &player, &states, k, "after →").await;
    }
    key(tab, Key::Left).await;
    expect_step(tab, &player, &states, 2, "after ←").await;

    // The buttons.
    let n = states.steps;
    click(&player, "step").await;
    expect_step(tab, &player, &states, 3, "after the step button").await;
    click(&player, "back").await;
    expect_step(tab, &player, &states, 2, "after the back button").await;
    // The clicked button keeps the focus (no redraw loses it), and the keys work there.
    let on_button = tab
        .execute(
            "const a = document.activeElement; \
             return a.tagName === 'BUTTON' && arguments[0].contains(a)",
            vec![json!(player)],
        )
        .await
        .expect("read the focus");
    assert_eq!(
        on_button,
        json!(true),
        "a clicked player button keeps the focus"
    );
    key(tab, Key::Right).await;
    expect_step(tab, &player, &states, 3, "after → on a button").await;
    key(tab, Key::Left).await;
    expect_step(tab, &player, &states, 2, "after ← on a button").await;
    click(&player, "end").await;
    let end = expect_step(tab, &player, &states, n, "after the end button").await;
    assert!(
        end.naive.verdict.as_deref().is_some_and(|v| !v.is_empty())
            && end
                .correct
                .verdict
                .as_deref()
                .is_some_and(|v| !v.is_empty()),
        "at the end both sides show a verdict: {end:#?}"
    );
    click(&player, "start").await;
    expect_step(tab, &player, &states, 0, "after the start button").await;

    // Play until it moved, then pause: wherever it stopped, it shows that step.
    click(&player, "play").await;
    wait_until(tab, &player, "play to take a step", |s| {
        s.step.as_deref() != Some("0")
    })
    .await;
    let playing = snapshot(tab, &player).await;
    if playing.play_label.as_deref() == Some("Pause") {
        click(&player, "play").await;
    }
    let paused = wait_until(tab, &player, "the play button to read Play again", |s| {
        s.play_label.as_deref() == Some("Play")
    })
    .await;
    states.check(&paused, "after play, then pause");

    screenshots(tab, &url, &page, &states).await;
    printed(tab, &page).await;
}

/// In print, the player is hidden and the static diagram shows.
async fn printed(tab: &Client, page: &PageUnderTest) {
    tab.issue_cmd(Cdp::new(
        "Emulation.setEmulatedMedia",
        json!({ "media": "print" }),
    ))
    .await
    .expect("emulate print media");
    let shown = tab
        .execute(
            "const shown = e => e !== null && getComputedStyle(e).display !== 'none' \
                 && e.getClientRects().length > 0; \
             return [matchMedia('print').matches, \
                     shown(document.querySelector('.sockstep-run')), \
                     shown(document.querySelector('.sockstep-player'))]",
            vec![],
        )
        .await
        .expect("read the printed page");
    assert_eq!(
        shown,
        json!([true, true, false]),
        "{} in print: [print media, diagram shown, player shown]",
        page.file.display()
    );
}

/// A DevTools command through chromedriver (its goog/cdp/execute endpoint): here,
/// to lay the page out for print, which WebDriver itself cannot.
#[derive(Debug)]
struct Cdp {
    body: String,
}

impl Cdp {
    fn new(cmd: &str, params: Value) -> Cdp {
        Cdp {
            body: json!({ "cmd": cmd, "params": params }).to_string(),
        }
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.clone()))
    }
}

/// With JavaScript off: the static diagram, and no player.
async fn unscripted(tab: Client, page: Arc<PageUnderTest>) {
    let url = file_url(&page.file);
    tab.goto(&url)
        .await
        .expect("open the page without JavaScript");
    let diagram = tab
        .find(Locator::Css(".sockstep-run"))
        .await
        .unwrap_or_else(|_| panic!("{url} without JavaScript has no .sockstep-run diagram"));
    assert!(
        diagram
            .is_displayed()
            .await
            .expect("is the diagram displayed"),
        "{url} without JavaScript hides its static diagram"
    );
    let player = first_player(&tab, &page.file).await;
    assert_eq!(
        player.attr("data-step").await.expect("read data-step"),
        None,
        "without JavaScript the player has no step, so the script did not run"
    );
    assert!(
        player
            .find_all(Locator::Css("button"))
            .await
            .expect("find buttons")
            .is_empty(),
        "without JavaScript the player has no buttons"
    );
}

/// Every expected state of the page's run, fetched once per step.
struct States {
    all: Vec<Value>,
    steps: usize,
    has_listings: bool,
}

impl States {
    async fn new(
        tab: &Client,
        player: &Element,
        page: &PageUnderTest,
        lesson: &str,
        seed: &str,
    ) -> States {
        let embedded = tab
            .execute(
                "return JSON.parse(arguments[0].querySelector('script.sockstep-steps').textContent)",
                vec![json!(player)],
            )
            .await
            .expect("the player embeds its steps as JSON in script.sockstep-steps");
        let embedded = embedded
            .as_array()
            .expect("the embedded steps are a list")
            .clone();
        let all = match page.oracle {
            Oracle::Embedded => embedded,
            Oracle::Sockstep => {
                let first = sockstep_upto(lesson, seed, 0);
                let steps = first["steps"].as_u64().expect("\"steps\" is a number") as usize;
                let all: Vec<Value> = std::iter::once(first)
                    .chain((1..=steps).map(|k| sockstep_upto(lesson, seed, k)))
                    .collect();
                // The page's data for every step, not only those driven below; the
                // page's run and these are two runs of the seed, the same but for
                // what the kernel measured.
                let comparable = |state: &Value| {
                    serde_json::from_value::<StepState>(state.clone())
                        .expect("a step's state")
                        .without_measurements()
                };
                for (k, (want, got)) in all.iter().zip(&embedded).enumerate() {
                    assert_eq!(
                        comparable(got),
                        comparable(want),
                        "step {k} embedded in the page differs from `sockstep run {lesson} --seed {seed} --upto {k} --json`"
                    );
                }
                assert_eq!(
                    embedded.len(),
                    all.len(),
                    "the page embeds {} steps, sockstep run has {}",
                    embedded.len(),
                    all.len()
                );
                all
            }
        };
        let steps = all.len().checked_sub(1).expect("a run has a step 0");
        assert!(
            steps >= 4,
            "the harness steps to 3 and back: a run of {steps} steps is too short"
        );
        States {
            all,
            steps,
            has_listings: page.has_listings,
        }
    }

    /// The DOM against the `--upto K --json` state of the step it shows.
    fn check(&self, seen: &Shown, when: &str) {
        let k = seen.step_number();
        let state = self.all.get(k).unwrap_or_else(|| {
            panic!(
                "the player shows step {k} ({when}), past the run's {} steps",
                self.steps
            )
        });
        shows(seen, state, self.has_listings, when);
    }
}

/// `sockstep run LESSON --seed SEED --upto K --json`, parsed.
fn sockstep_upto(lesson: &str, seed: &str, k: usize) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sockstep"))
        .args([
            "run",
            lesson,
            "--seed",
            seed,
            "--upto",
            &k.to_string(),
            "--json",
        ])
        .output()
        .expect("run the sockstep binary");
    assert!(
        out.status.success(),
        "`sockstep run {lesson} --seed {seed} --upto {k} --json` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "`sockstep run {lesson} --seed {seed} --upto {k} --json` printed no JSON object: {e}"
        )
    })
}

/// The player's buttons are real buttons with labels, its step text is announced.
async fn accessible(player: &Element, seen: &Shown) {
    for action in ["start", "back", "step", "play", "end"] {
        let button = button(player, action).await;
        assert_eq!(
            button.tag_name().await.expect("tag name").to_lowercase(),
            "button",
            "the {action} control is a <button>"
        );
        let label = button.attr("aria-label").await.expect("aria-label");
        assert!(
            label.as_deref().is_some_and(|l| !l.trim().is_empty()),
            "the {action} button has an aria-label"
        );
    }
    assert_eq!(
        seen.live.as_deref(),
        Some("polite"),
        "the step text is aria-live=\"polite\""
    );
    assert_eq!(
        seen.play_label.as_deref(),
        Some("Play"),
        "the play button reads Play when paused"
    );
    assert_eq!(
        player.attr("tabindex").await.expect("tabindex").as_deref(),
        Some("0"),
        "the player can take focus (tabindex=\"0\")"
    );
}

/// Each theme: load with mdbook's stored theme, step to the middle, screenshot the
/// player into target/book-player/.
async fn screenshots(tab: &Client, url: &str, page: &PageUnderTest, states: &States) {
    let dir = target_dir().join("book-player");
    std::fs::create_dir_all(&dir).expect("create target/book-player");
    let middle = states.steps / 2;
    for theme in ["light", "navy"] {
        tab.execute(
            "localStorage.setItem('mdbook-theme', arguments[0])",
            vec![json!(theme)],
        )
        .await
        .expect("store the theme");
        // A URL of its own, so that this is a new load and not the page already
        // open (going to the very same URL once kept the last theme).
        tab.goto(&format!("{url}?theme={theme}"))
            .await
            .expect("reload the page");
        let start = Instant::now();
        loop {
            let class = tab
                .execute(
                    "return document.readyState + ' | ' + document.documentElement.className",
                    vec![],
                )
                .await
                .expect("read the html class");
            let text = class.as_str().unwrap_or_default().to_string();
            if text.starts_with("complete") && text.split_whitespace().any(|word| word == theme) {
                break;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the page took the {theme} theme from localStorage (ready state | html class: {text})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let player = first_player(tab, &page.file).await;
        ready(tab, &player).await;
        to_start(tab, &player, states).await;
        focus(tab, &player).await;
        for k in 1..=middle {
            key(tab, Key::Right).await;
            expect_step(tab, &player, states, k, "stepping to the middle").await;
        }
        let png = in_view(tab, &player).await;
        let file = dir.join(format!("{}-{theme}.png", page.name));
        std::fs::write(&file, png).expect("write the screenshot");
        println!(
            "screenshot: {} (step {middle} of {})",
            file.display(),
            states.steps
        );
    }
    tab.execute("localStorage.removeItem('mdbook-theme')", vec![])
        .await
        .expect("forget the theme");
}

/// The window with the player in its middle, once scrolling has settled (mdbook's
/// menu bar hides on scroll, which moves the page: an element screenshot taken
/// meanwhile cuts the player).
async fn in_view(tab: &Client, player: &Element) -> Vec<u8> {
    let top = "arguments[0].scrollIntoView({block: 'center'}); \
               return [window.scrollY, arguments[0].getBoundingClientRect().top]";
    let mut last = Value::Null;
    let start = Instant::now();
    loop {
        let now = tab
            .execute(top, vec![json!(player)])
            .await
            .expect("scroll to the player");
        if now == last {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the page kept scrolling for {PATIENCE:?}"
        );
        last = now;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tab.screenshot().await.expect("screenshot the window")
}

// ---------------------------------------------------------------------------------
// Reading and driving the player.

/// What the player shows, read from its DOM in one go.
#[derive(Debug, Deserialize)]
struct Shown {
    lesson: String,
    seed: String,
    step: Option<String>,
    steps: Option<String>,
    text: Option<String>,
    live: Option<String>,
    play_label: Option<String>,
    naive: SideShown,
    correct: SideShown,
    highlighted: usize,
}

#[derive(Debug, Deserialize)]
struct SideShown {
    present: bool,
    received_hex: Option<String>,
    has_bytes: bool,
    call: Option<String>,
    verdict: Option<String>,
}

impl Shown {
    fn step_number(&self) -> usize {
        self.step
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("the player's data-step is not a number: {self:#?}"))
    }
}

const SNAPSHOT: &str = r#"
const p = arguments[0];
const text = (root, sel) => { const e = root.querySelector(sel); return e ? e.textContent.trim() : null; };
const side = name => {
    const e = p.querySelector('[data-side="' + name + '"]');
    if (!e) return { present: false, received_hex: null, has_bytes: false, call: null, verdict: null };
    return { present: true, received_hex: e.getAttribute('data-received-hex'),
             has_bytes: !!e.querySelector('.sockstep-player-bytes'),
             call: text(e, '.sockstep-player-call'), verdict: text(e, '.sockstep-player-verdict') };
};
const live = p.querySelector('.sockstep-player-step');
const play = p.querySelector('button[data-action="play"]');
return { lesson: p.getAttribute('data-lesson') || '', seed: p.getAttribute('data-seed') || '',
         step: p.getAttribute('data-step'), steps: p.getAttribute('data-steps'),
         text: text(p, '.sockstep-player-step'), live: live && live.getAttribute('aria-live'),
         play_label: play && play.getAttribute('aria-label'),
         naive: side('naive'), correct: side('correct'),
         highlighted: document.querySelectorAll('.sockstep-line-now').length };
"#;

async fn snapshot(tab: &Client, player: &Element) -> Shown {
    let value = match tab.execute(SNAPSHOT, vec![json!(player)]).await {
        Ok(value) => value,
        Err(e) => {
            let at = tab.current_url().await.map(String::from);
            panic!(
                "could not read the player (the page is now {at:?}; mdbook turns the page on ← → that the player lets through): {e}"
            )
        }
    };
    serde_json::from_value(value).expect("the snapshot script's result")
}

/// Polls the player until `done` holds; fails after PATIENCE naming what it waited for.
async fn wait_until(
    tab: &Client,
    player: &Element,
    what: &str,
    done: impl Fn(&Shown) -> bool,
) -> Shown {
    let start = Instant::now();
    loop {
        let seen = snapshot(tab, player).await;
        if done(&seen) {
            return seen;
        }
        if start.elapsed() > PATIENCE {
            panic!("waited {PATIENCE:?} for {what}; the player shows {seen:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the script to set the player up, at whichever step it starts.
async fn ready(tab: &Client, player: &Element) -> Shown {
    wait_until(tab, player, "the player's script to show a step", |s| {
        s.step.is_some()
    })
    .await
}

/// The player at step 0, by its start button if it is elsewhere.
async fn to_start(tab: &Client, player: &Element, states: &States) {
    if snapshot(tab, player).await.step.as_deref() != Some("0") {
        click(player, "start").await;
    }
    expect_step(tab, player, states, 0, "at the start").await;
}

/// Waits for step `k`, then checks everything the player shows there.
async fn expect_step(
    tab: &Client,
    player: &Element,
    states: &States,
    k: usize,
    when: &str,
) -> Shown {
    let want = k.to_string();
    let seen = wait_until(tab, player, &format!("step {k} {when}"), |s| {
        s.step.as_deref() == Some(want.as_str())
    })
    .await;
    states.check(&seen, when);
    seen
}

/// The DOM against one `--upto K --json` state.
fn shows(seen: &Shown, state: &Value, has_listings: bool, when: &str) {
    let k = state["step"].as_u64().expect("\"step\" is a number");
    let context = format!("at step {k} ({when})");
    assert_eq!(seen.step, Some(k.to_string()), "data-step {context}");
    assert_eq!(
        seen.steps,
        Some(
            state["steps"]
                .as_u64()
                .expect("\"steps\" is a number")
                .to_string()
        ),
        "data-steps {context}"
    );
    assert_eq!(
        seen.text.as_deref(),
        state["text"].as_str(),
        "the step text {context}"
    );
    let mut lines = 0;
    for (name, side) in [("naive", &seen.naive), ("correct", &seen.correct)] {
        let want = &state["sides"][name];
        assert!(
            side.present,
            "the player has a [data-side=\"{name}\"] {context}"
        );
        assert!(side.has_bytes, "the {name} side shows its bytes {context}");
        assert_eq!(
            side.received_hex.as_deref(),
            want["received_hex"].as_str(),
            "the {name} side's data-received-hex {context}"
        );
        assert_eq!(
            side.call.as_deref(),
            Some(want["call"].as_str().unwrap_or("")),
            "the {name} side's call {context}"
        );
        assert_eq!(
            side.verdict.as_deref(),
            Some(want["verdict"].as_str().unwrap_or("")),
            "the {name} side's verdict {context}"
        );
        lines += usize::from(!want["line"].is_null());
    }
    // Which listing holds a side's line is the page's business; that one is lit is ours.
    assert_eq!(
        seen.highlighted > 0,
        has_listings && lines > 0,
        "{} highlighted code lines {context}, while {lines} sides have a line",
        seen.highlighted
    );
}

async fn first_player(tab: &Client, file: &Path) -> Element {
    tab.find(Locator::Css(".sockstep-player"))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} has no .sockstep-player (the preprocessor puts one after each sockstep diagram)",
                file.display()
            )
        })
}

async fn button(player: &Element, action: &str) -> Element {
    player
        .find(Locator::Css(&format!("button[data-action=\"{action}\"]")))
        .await
        .unwrap_or_else(|_| panic!("the player has no button[data-action=\"{action}\"]"))
}

async fn click(player: &Element, action: &str) {
    button(player, action)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click the {action} button: {e}"));
}

/// Focuses the player as Tab would, and checks it took the focus.
async fn focus(tab: &Client, player: &Element) {
    let focused = tab
        .execute(
            "arguments[0].focus(); return document.activeElement === arguments[0]",
            vec![json!(player)],
        )
        .await
        .expect("focus the player");
    assert_eq!(focused, json!(true), "the player takes the focus");
}

/// One key press, sent to whatever has the focus.
async fn key(tab: &Client, key: Key) {
    let press = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key.into() })
        .then(KeyAction::Up { value: key.into() });
    tab.perform_actions(press).await.expect("press a key");
}

// ---------------------------------------------------------------------------------
// The browser: chromedriver and headless chromium, gone when the guard is.

#[derive(Clone, Copy, PartialEq)]
enum Scripts {
    On,
    Off,
}

struct Browser {
    client: Client,
    driver: Driver,
}

impl Browser {
    async fn start(scripts: Scripts) -> Browser {
        let chromium = program("CHROMIUM", "chromium", "Debian's chromium");
        let driver = Driver::start();
        let profile = driver.scratch.path().join("profile");
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,1000".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if scripts == Scripts::Off {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start chromium: {e}"));
        Browser { client, driver }
    }
}

/// Runs `check` on a fresh browser, as a task so that a failed check still ends
/// the session (chromium quits) before the guard ends chromedriver; then fails
/// as the check did.
async fn with_browser<F, Fut>(scripts: Scripts, check: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Browser { client, driver } = Browser::start(scripts).await;
    let outcome = tokio::spawn(check(client.clone())).await;
    let closed = client.close().await;
    drop(driver);
    match outcome {
        Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        Err(failed) => panic!("the browser check did not finish: {failed}"),
        Ok(()) => closed.expect("end the WebDriver session"),
    }
}

/// chromedriver in its own process group, on a free loopback port,
/// with every file it and chromium write (profile, HOME, TMPDIR) in one scratch
/// folder. Dropping it, on success, failure or panic, kills the group and removes
/// the folder; an interrupt (Ctrl-C) does the same for every live one.
struct Driver {
    child: Child,
    group: Pid,
    port: u16,
    scratch: tempfile::TempDir,
    stdout: Option<JoinHandle<()>>,
}

impl Driver {
    fn start() -> Driver {
        let chromedriver = program("CHROMEDRIVER", "chromedriver", "Debian's chromium-driver");
        stop_all_when_interrupted();
        // Orphans of chromium come to us, to be reaped (see Driver::reap).
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
        // With --port=0 chromedriver takes a free IPv6 port and exits if that port
        // is taken on IPv4. A port just free on IPv4 can be taken again before
        // chromedriver binds it: both are rare, and a new try fixes them.
        let mut tries = 1;
        loop {
            match Driver::try_start(&chromedriver) {
                Ok(driver) => return driver,
                Err(port_taken) if tries < 5 => {
                    eprintln!("{port_taken}; trying again");
                    tries += 1;
                }
                Err(port_taken) => panic!("{port_taken}, {tries} times"),
            }
        }
    }

    /// Starts chromedriver on a free port, or says why the port did not do.
    fn try_start(chromedriver: &Path) -> Result<Driver, String> {
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|free| free.local_addr())
            .expect("find a free loopback port")
            .port();
        let scratch = tempfile::Builder::new()
            .prefix("sockstep-browser-")
            .tempdir()
            .expect("create a scratch folder");
        let (tmp, home) = (scratch.path().join("tmp"), scratch.path().join("home"));
        let log = scratch.path().join("chromedriver.log");
        for dir in [&tmp, &home] {
            std::fs::create_dir(dir).expect("create the browser's TMPDIR and HOME");
        }
        // The live list holds the group from before its first process exists.
        let mut live_list = live();
        let mut child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .env("TMPDIR", &tmp)
            .env("HOME", &home) // chromium's crash reports and NSS database
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("create chromedriver's log"))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", chromedriver.display()));
        let group = Pid::from_child(&child);
        live_list.push((group, scratch.path().to_path_buf()));
        drop(live_list);
        // chromedriver says which port it took; the reader then drains its output,
        // or, if it ends first, hands over what it said.
        let out = BufReader::new(child.stdout.take().expect("chromedriver's stdout"));
        let (tx, rx) = mpsc::channel();
        let stdout = std::thread::spawn(move || {
            let mut said = Vec::new();
            for line in out.lines().map_while(Result::ok) {
                let port = line
                    .split("started successfully on port ")
                    .nth(1)
                    .and_then(|p| p.trim_end_matches('.').parse::<u16>().ok());
                match port {
                    Some(port) => drop(tx.send(Ok(port))),
                    None => said.push(line),
                }
            }
            let _ = tx.send(Err(said.join(" / ")));
        });
        let mut driver = Driver {
            child,
            group,
            port: 0,
            scratch,
            stdout: Some(stdout),
        };
        match rx.recv_timeout(PATIENCE) {
            Ok(Ok(said)) => {
                assert_eq!(said, port, "chromedriver took another port than asked");
                driver.port = port;
                Ok(driver)
            }
            Ok(Err(said)) => {
                let status = driver.child.wait();
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let ended = format!(
                    "{} ended ({status:?}) before it said it listens on port {port}; it said: {said} {log}",
                    chromedriver.display()
                );
                assert!(said.contains("port not available"), "{ended}");
                Err(ended)
            }
            Err(_) => panic!(
                "{} did not say it started within {PATIENCE:?}",
                chromedriver.display()
            ),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = kill_process_group(self.group, Signal::KILL);
        let _ = self.child.wait();
        self.reap();
        if let Some(reader) = self.stdout.take() {
            let _ = reader.join();
        }
        live().retain(|(group, _)| *group != self.group);
        // self.scratch goes next, by its own Drop, once nothing writes to it.
    }
}

impl Driver {
    /// Kills and reaps what chromium left: the processes of the group whose parent
    /// died, and its crash handlers, which leave the group (their command line names
    /// the scratch HOME while they live). All come to this process, their
    /// subreaper, so that no zombie is left to an init that may never reap it.
    /// Bounded: what will not die is left to init.
    fn reap(&self) {
        let start = Instant::now();
        let home = self.scratch.path().as_os_str().as_encoded_bytes().to_vec();
        loop {
            while let Ok(Some(_)) = waitpgid(self.group, WaitOptions::NOHANG) {}
            for child in children() {
                // A zombie's command line is empty: any crash handler's zombie is
                // an orphan of some chromium of ours, with nobody else to reap it.
                let ours = child.cmdline.windows(home.len()).any(|w| w == home);
                let dead_handler = child.zombie && child.comm == "chrome_crashpad";
                if ours || dead_handler {
                    let _ = kill_process(child.pid, Signal::KILL);
                    let _ = waitpid(Some(child.pid), WaitOptions::empty());
                }
            }
            if test_kill_process_group(self.group).is_err() || start.elapsed() > PATIENCE {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A child of this process, from /proc.
struct ChildProcess {
    pid: Pid,
    comm: String,
    zombie: bool,
    cmdline: Vec<u8>,
}

fn children() -> Vec<ChildProcess> {
    let me = std::process::id().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|entry| {
            let pid = entry.ok()?.file_name().to_str()?.parse::<i32>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid ...", where comm may hold spaces but not ')'.
            let (head, rest) = stat.rsplit_once(')')?;
            let mut fields = rest.split_whitespace();
            let state = fields.next()?;
            (fields.next()? == me).then_some(())?;
            Some(ChildProcess {
                pid: Pid::from_raw(pid)?,
                comm: head.split_once('(')?.1.to_string(),
                zombie: state == "Z",
                cmdline: std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default(),
            })
        })
        .collect()
}

/// Each live chromedriver's process group and scratch folder.
static LIVE: Mutex<Vec<(Pid, PathBuf)>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<(Pid, PathBuf)>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// On SIGINT, SIGTERM or SIGHUP, which end the test without running any Drop,
/// kills every live browser's group and removes its folder, then exits.
fn stop_all_when_interrupted() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .expect("catch SIGINT, SIGTERM and SIGHUP");
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                for (group, scratch) in live().drain(..) {
                    let _ = kill_process_group(group, Signal::KILL);
                    let _ = std::fs::remove_dir_all(scratch);
                }
                std::process::exit(128 + signal);
            }
        });
    });
}

/// The program named by environment variable `var`, else `name` on PATH; fails in
/// one sentence naming what is missing.
fn program(var: &str, name: &str, package: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "the browser test needs {package}, and {var}={} is not a file",
            path.display()
        );
        return path;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("the browser test needs {package}: no {name} on PATH (install it, or set {var} to its path)")
        })
}

fn file_url(file: &Path) -> String {
    let file = file
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    format!("file://{}", file.display())
}

/// target/, where the binary under test was built.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_sockstep"))
        .ancestors()
        .nth(2)
        .expect("the binary lives in target/PROFILE/")
        .to_path_buf()
}
