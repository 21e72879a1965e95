//! Drawing: the app's state in, a frame out, and what the frame found out (`Drawn`)
//! back to the loop. Nothing here changes the app; the cache only memoises.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::app::{App, Drawn, Overlay};
use super::bytes::ByteView;
use super::explain::{self, SideState};
use super::keys::{self, Action, KEYS, Pane};
use super::theme::Theme;
use super::{code, hints, markdown, wire};

// A child of this module: the presenter layout draws this module's panes.
#[path = "present.rs"]
mod present;
use crate::engine::trace::quote;
use crate::engine::{ActorState, Call, Event, Mode, Role, Side, SideStatus};
use crate::lesson::Lang;
use crate::render::text::call_line;
use crate::render::{diagram, path};

/// Smallest terminal the TUI draws in.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 18;
/// Narrower than this, the sides share one column: both byte views, one side's code.
pub const WIDE: u16 = 100;

/// What one side's panes show, built from the run's events.
#[derive(Clone, Default)]
struct SideContent {
    /// The byte view.
    bytes: Vec<Line<'static>>,
    /// Where the bytes are: a line per box of the path (`tui::path`), and its
    /// sizes in one line for a pane too short for those.
    path: Vec<Line<'static>>,
    path_summary: String,
    /// Each message delivered, then the side's status.
    application: Vec<Line<'static>>,
    /// The calls, oldest first.
    calls: Vec<Line<'static>>,
}

/// Everything a side's content depends on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ContentKey {
    run: Option<u64>,
    side: Side,
    engine_events: u64,
    /// The point of the run's history shown, when stepped back.
    point: Option<usize>,
    hex: bool,
    spaced: bool,
    color: bool,
    width: usize,
}

/// A code pane's lines: the lesson, side and language, and which lines are shown.
type CodeKey = (usize, Side, Lang, Vec<u32>);

/// What is costly to build and rarely changes: highlighted code per (lesson, side,
/// language, lines shown),
/// the rendered page, and each side's content until the next engine event.
#[derive(Default)]
pub struct Cache {
    code: HashMap<CodeKey, Vec<Line<'static>>>,
    page: Option<(String, bool, Lang, Vec<Line<'static>>)>,
    content: HashMap<ContentKey, SideContent>,
}

impl Cache {
    fn side_content(&mut self, app: &App, side: Side, width: usize) -> SideContent {
        let key = ContentKey {
            run: app.session().run().map(|r| r.id),
            side,
            engine_events: app.session().engine_events(),
            point: app
                .shown()
                .filter(|shown| shown.back)
                .and_then(|shown| shown.point),
            hex: app.view().hex(),
            spaced: app.view().present(),
            color: app.view().theme().color,
            width,
        };
        if !self.content.contains_key(&key) {
            if self.content.len() >= 8 {
                self.content.clear();
            }
            self.content.insert(key, side_content(app, side, width));
        }
        self.content[&key].clone()
    }

    /// Forgets each side's content, as an engine event would (for benchmarks).
    pub fn forget_content(&mut self) {
        self.content.clear();
    }

    /// The highlighted lines of `source` (a side's code, numbered).
    fn code(&mut self, app: &App, side: Side, source: &[(u32, &'static str)]) -> &[Line<'static>] {
        let lang = app.session().lang();
        let numbers = source.iter().map(|(number, _)| *number).collect();
        let key = (app.session().index(), side, lang, numbers);
        let color = app.view().theme().color;
        let ready = self
            .code
            .get(&key)
            .is_some_and(|lines| !lines.is_empty() && (!color || lines[0].style.fg.is_some()));
        if !ready {
            if self.code.len() >= 64 {
                self.code.clear();
            }
            let texts: Vec<&str> = source.iter().map(|(_, text)| *text).collect();
            let highlighted = if color {
                code::highlight(&texts, lang)
            } else {
                None
            };
            let lines = texts
                .iter()
                .enumerate()
                .map(|(i, text)| match &highlighted {
                    Some(pieces) => Line::from(
                        pieces[i]
                            .iter()
                            .map(|(style, text)| Span::styled(text.clone(), *style))
                            .collect::<Vec<_>>(),
                    )
                    // Marks the line as highlighted, for the check above.
                    .style(Style::new().fg(Color::Reset)),
                    None => Line::from(text.to_string()),
                })
                .collect();
            self.code.insert(key.clone(), lines);
        }
        &self.code[&key]
    }

    fn page(&mut self, app: &App) -> &[Line<'static>] {
        let page = app.session().page();
        let theme = app.view().theme();
        let lang = app.session().lang();
        let fresh = self.page.as_ref().is_some_and(|(text, color, shown, _)| {
            text == page && *color == theme.color && *shown == lang
        });
        if !fresh {
            let lines = markdown::render(page, theme, lang);
            self.page = Some((page.to_string(), theme.color, lang, lines));
        }
        &self.page.as_ref().expect("just set").3
    }
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame, app: &App, cache: &mut Cache) -> Drawn {
    let area = frame.area();
    let mut drawn = Drawn::default();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let message = format!(
            "sockstep needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {}×{}.\nMake the window bigger, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(message).wrap(Wrap { trim: true }), area);
        return drawn;
    }
    let [header, body, bar, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(header_line(app), header);
    let (bar_line, bar_area) = steps_bar(app, bar);
    frame.render_widget(bar_line, bar);
    drawn.hit_areas.push((Pane::Steps, bar_area));
    frame.render_widget(footer_line(app, footer.width, footer.width < WIDE), footer);

    let compact = area.width < WIDE;
    drawn.compact = compact;
    let view = app.view();
    let body = if app.session().wire().is_some() {
        let [panel, rest] =
            Layout::vertical([Constraint::Length(wire::HEIGHT), Constraint::Min(1)]).areas(body);
        frame.render_widget(&wire::WirePanel { app }, panel);
        rest
    } else {
        body
    };
    let text_area = if view.present() {
        drawn
            .hit_areas
            .extend(present::render(frame, app, cache, body));
        None
    } else if compact {
        if view.shows_text(compact) {
            Some(body)
        } else {
            // Both byte views and one side's code share the column: more rows needed.
            drawn.path_room = room_for_path(body.height.saturating_sub(6));
            let path_rows = if view.shows_path(drawn.path_room) {
                PATH_HEIGHT
            } else {
                0
            };
            drawn
                .hit_areas
                .extend(render_both_narrow(frame, app, cache, body, path_rows));
            None
        }
    } else {
        let (columns_area, text_area) = if view.shows_text(compact) {
            let text_height = (body.height * 3 / 10).max(5);
            let [columns, text] =
                Layout::vertical([Constraint::Min(8), Constraint::Length(text_height)]).areas(body);
            (columns, Some(text))
        } else {
            (body, None)
        };
        let columns: [Rect; 2] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(columns_area);
        let width = columns[0].width.saturating_sub(2) as usize;
        let contents = Side::BOTH.map(|side| cache.side_content(app, side, width));
        // Both columns get the same pane heights, so the panes line up.
        let [a, b] = contents
            .each_ref()
            .map(|content| pane_heights(content, columns[0]));
        let room = room_for_path(columns[0].height.saturating_sub(1));
        drawn.path_room = room;
        let path_rows = if view.shows_path(room) {
            PATH_HEIGHT
        } else {
            0
        };
        let heights = (a.0.max(b.0), a.1.max(b.1), path_rows);
        for ((side, content), area) in Side::BOTH.into_iter().zip(contents).zip(columns) {
            let panes = side_panes(app, cache, side, compact, content);
            drawn.hit_areas.extend(panes.render(frame, area, heights));
        }
        text_area
    };
    if let Some(area) = text_area {
        drawn.text_scroll = Some(render_text(frame, app, cache, area));
        drawn.hit_areas.insert(0, (Pane::Text, area));
    }

    match view.overlay() {
        Overlay::None => {}
        Overlay::Help => render_help(frame, view.theme(), area, app.session().wire().is_some()),
        Overlay::LessonList { selected } => {
            let (scroll, box_area) = render_list(frame, app, area, *selected);
            drawn.list_scroll = Some(scroll);
            drawn.hit_areas.push((Pane::LessonList, box_area));
        }
        Overlay::SeedInput { typed } => render_seed_input(frame, view.theme(), area, typed),
        Overlay::Hints => hints::render(
            frame,
            view.theme(),
            app.session().lang(),
            area,
            app.session().hints(),
            view.hints_shown(),
        ),
        Overlay::Predict(prediction) => {
            let trace = app.session().run().and_then(|run| run.trace.as_ref());
            let choices = super::prediction::render(frame, view.theme(), area, prediction, trace);
            drawn.hit_areas.push((Pane::Choices, choices));
        }
    }
    drawn
}

fn header_line(app: &App) -> Line<'static> {
    let session = app.session();
    let theme = app.view().theme();
    let lesson = session.lesson();
    let mut spans = vec![
        Span::styled(" sockstep ", theme.brand),
        Span::raw(format!(
            " {}/{} ",
            session.index() + 1,
            session.lessons().len()
        )),
        Span::styled(lesson.slug, theme.bold),
        Span::styled(
            format!(
                " · {} · {} · seed {}{} · step {} ",
                session.lang().name(),
                session.mode().name(),
                session.seed(),
                cuts_shown(session),
                // Stepped back: the point on screen, as the timeline bar says. Live:
                // the steps taken, which never wait for the run to settle at a point.
                app.shown()
                    .filter(|shown| shown.back)
                    .and_then(|shown| shown.point)
                    .map_or(session.steps(), |point| point as u32)
            ),
            theme.muted,
        ),
    ];
    if let Some(ms) = app.view().autoplay_ms() {
        spans.push(Span::styled(format!("▶ autoplay {ms} ms "), theme.ok));
    }
    spans.push(Span::raw(format!("— {}", lesson.title)));
    Line::from(spans)
}

fn footer_line(app: &App, width: u16, narrow: bool) -> Line<'static> {
    let theme = app.view().theme();
    if let Some(notice) = app.session().notice() {
        return Line::styled(format!(" {notice}"), theme.notice);
    }
    let mut shown: Vec<&keys::Footer> =
        keys::footer_keys(narrow, app.session().wire().is_some()).collect();
    let columns = |shown: &[&keys::Footer]| {
        1 + shown
            .iter()
            .map(|f| f.key.chars().count() + f.what.chars().count() + 2)
            .sum::<usize>()
    };
    // Too wide: the keys only wide footers name give way, the last first, so that
    // help and quit always show.
    while columns(&shown) > usize::from(width) {
        match shown.iter().rposition(|f| f.shown == keys::Shown::Wide) {
            Some(at) => {
                shown.remove(at);
            }
            None => break,
        }
    }
    let mut spans = vec![Span::raw(" ")];
    for footer in shown {
        spans.push(Span::styled(footer.key, theme.bold));
        spans.push(Span::styled(format!(" {} ", footer.what), theme.muted));
    }
    Line::from(spans)
}

/// Draws the lesson text; returns its scroll, kept within the text.
fn render_text(frame: &mut Frame, app: &App, cache: &mut Cache, area: Rect) -> u16 {
    let lines = cache.page(app).to_vec();
    let block = Block::bordered().title(" Lesson (t hides, PgUp/PgDn scroll) ");
    let inner_height = area.height.saturating_sub(2);
    let max_scroll = (lines.len() as u16).saturating_sub(inner_height.max(1) / 2);
    let scroll = app.view().text_scroll().min(max_scroll);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
    scroll
}

/// The timeline bar: the point of the run's history shown, of those recorded; a
/// click steps there. Returns the line and where its bar (the clickable part) is.
fn steps_bar(app: &App, area: Rect) -> (Line<'static>, Rect) {
    let theme = app.view().theme();
    let Some(shown) = app.shown() else {
        return (Line::default(), Rect::default());
    };
    let last = shown.points.saturating_sub(1);
    let label = match shown.point {
        Some(at) => format!(" step {at} of {last} "),
        None => format!(" running, past step {last} "),
    };
    let label_width = label.chars().count() as u16;
    let width = area.width.saturating_sub(label_width + 1);
    let marker = match shown.point {
        Some(at) if last > 0 => (at * usize::from(width.saturating_sub(1)) + last / 2) / last,
        Some(_) => 0,
        None => usize::from(width),
    };
    let (done, rest): (String, String) = (
        "━".repeat(marker.min(usize::from(width))),
        "─".repeat(usize::from(width).saturating_sub(marker + 1)),
    );
    let mut spans = vec![
        Span::styled(label, theme.muted),
        Span::styled(done, theme.bold),
    ];
    if marker < usize::from(width) {
        spans.push(Span::styled("●", theme.highlight));
    }
    spans.push(Span::styled(rest, theme.faint));
    let bar = Rect {
        x: area.x + label_width,
        width,
        ..area
    };
    (Line::from(spans), bar)
}

/// A narrow terminal without the lesson text: both sides' verdicts and byte views,
/// naive above correct, and the focused side's code, messages and calls.
fn render_both_narrow(
    frame: &mut Frame,
    app: &App,
    cache: &mut Cache,
    area: Rect,
    path_rows: u16,
) -> [(Pane, Rect); 2] {
    let focus = app.view().focus();
    let width = area.width.saturating_sub(2) as usize;
    let contents = Side::BOTH.map(|side| cache.side_content(app, side, width));
    let inner = area.height.saturating_sub(1);
    let byte_heights = contents
        .each_ref()
        .map(|content| (content.bytes.len() as u16 + 2).clamp(3, (inner / 5).max(3)));
    let (_, app_height) = pane_heights(&contents[focus as usize], area);
    let [
        title_area,
        code_area,
        naive_area,
        correct_area,
        path_area,
        app_area,
        calls_area,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(byte_heights[0]),
        Constraint::Length(byte_heights[1]),
        Constraint::Length(path_rows),
        Constraint::Length(app_height),
        Constraint::Max(inner / 4),
    ])
    .areas(area);
    let panes = side_panes(app, cache, focus, true, contents[focus as usize].clone());
    frame.render_widget(&panes.title, title_area);
    frame.render_widget(&panes.code, code_area);
    for ((side, content), byte_area) in Side::BOTH
        .into_iter()
        .zip(&contents)
        .zip([naive_area, correct_area])
    {
        let bytes = BytesPane {
            content,
            hex: panes.hex,
            side: Some(side),
        };
        frame.render_widget(&bytes, byte_area);
    }
    if path_area.height > 0 {
        frame.render_widget(
            &PathPane {
                content: &panes.content,
                side: Some(focus),
            },
            path_area,
        );
    }
    frame.render_widget(
        &ApplicationPane {
            lines: &panes.content.application,
        },
        app_area,
    );
    if calls_area.height >= 3 {
        frame.render_widget(
            &CallsPane {
                lines: &panes.content.calls,
                user_scroll: panes.timeline_scroll,
            },
            calls_area,
        );
    }
    [
        (Pane::Code(focus), code_area),
        (Pane::Timeline(focus), calls_area),
    ]
}

/// The line each program is at: where it waits, else its last call.
fn current_lines(status: Option<&SideStatus>, events: &[Event]) -> [Option<u32>; 2] {
    let waiting = |state: Option<ActorState>| match state {
        Some(ActorState::AtGate { line } | ActorState::Receiving { line }) => line,
        _ => None,
    };
    let last = |role: Role| {
        events
            .iter()
            .rev()
            .find(|e| e.role == role)
            .and_then(|e| e.line)
    };
    [
        waiting(status.map(|s| s.sender)).or_else(|| last(Role::Sender)),
        waiting(status.map(|s| s.receiver)).or_else(|| last(Role::Receiver)),
    ]
}

fn outcome_mark(app: &App, side: Side) -> Option<(bool, String)> {
    let trace = app.shown()?.trace?;
    let outcome = &trace.side(side).outcome;
    Some((outcome.is_delivered(), outcome.describe()))
}

/// Heights of the byte pane and the application pane for this side's content.
fn pane_heights(content: &SideContent, area: Rect) -> (u16, u16) {
    let inner = area.height.saturating_sub(1);
    let width = area.width.saturating_sub(2) as usize;
    let byte_height = (content.bytes.len() as u16 + 2).clamp(4, inner / 3);
    let app_rows: usize = content
        .application
        .iter()
        .map(|line| line.width().max(1).div_ceil(width.max(1)))
        .sum();
    let app_height = (app_rows as u16 + 2).clamp(3, inner / 4);
    (byte_height, app_height)
}

/// The code, with the line each program is at marked.
struct CodePane<'a> {
    title: String,
    lines: Vec<Line<'a>>,
    /// The rows marked, the receiver's first: the pane follows them (both when they
    /// fit) unless the user scrolled.
    marked_rows: Vec<usize>,
    user_scroll: u16,
}

/// How far to scroll `rows` rows in `height` so that the marked rows are in sight:
/// all of them, centred, when they fit; else the first, centred.
fn follow(marked: &[usize], rows: usize, height: usize) -> usize {
    let bottom = rows.saturating_sub(height);
    let Some(&first) = marked.first() else {
        return 0;
    };
    let (low, high) = marked.iter().fold((first, first), |(low, high), &row| {
        (low.min(row), high.max(row))
    });
    let scroll = if high - low < height {
        ((low + high) / 2)
            .saturating_sub(height / 2)
            .clamp((high + 1).saturating_sub(height), low)
    } else {
        first.saturating_sub(height / 2)
    };
    scroll.min(bottom)
}

impl Widget for &CodePane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let height = area.height.saturating_sub(2);
        let rows = self.lines.len() as u16;
        let scroll = if self.user_scroll > 0 {
            self.user_scroll.min(rows.saturating_sub(1))
        } else {
            follow(&self.marked_rows, rows.into(), height.into()) as u16
        };
        Paragraph::new(self.lines.clone())
            .block(
                Block::bordered()
                    .title(self.title.as_str())
                    .title_bottom(Line::from(" ▶ receiver  ▷ sender ").right_aligned()),
            )
            .scroll((scroll, 0))
            .render(area, buf);
    }
}

/// The bytes received.
struct BytesPane<'a> {
    content: &'a SideContent,
    hex: bool,
    /// Named in the title, when both sides' bytes are in one column.
    side: Option<Side>,
}

impl Widget for &BytesPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let lines = self.content.bytes.clone();
        let legend: String = diagram::legend()
            .iter()
            .map(|entry| format!(" {} {} ", entry.glyph, entry.brief))
            .collect();
        let side = self
            .side
            .map(|side| format!(" {}:", side.name()))
            .unwrap_or_default();
        let hex = if self.hex { " (hex)" } else { "" };
        let title = format!("{side} bytes received{hex} ");
        Paragraph::new(lines)
            .block(
                Block::bordered()
                    .title(title)
                    .title_bottom(Line::from(legend).right_aligned()),
            )
            .render(area, buf);
    }
}

/// Where the bytes are, box by box along the path; in one wrapped line of sizes
/// when the pane is too short for a line per box.
struct PathPane<'a> {
    content: &'a SideContent,
    /// Named in the title, when one side's pane stands under both byte views.
    side: Option<Side>,
}

impl Widget for &PathPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let title = match self.side {
            Some(side) => format!(" where the bytes are: {} ", side.name()),
            None => " where the bytes are ".to_string(),
        };
        let block = Block::bordered()
            .title(title)
            .title_bottom(Line::from(" ▷ sender  ▶ receiver ").right_aligned());
        let lines = &self.content.path;
        if usize::from(area.height.saturating_sub(2)) < lines.len() {
            Paragraph::new(self.content.path_summary.clone())
                .wrap(Wrap { trim: true })
                .block(block)
                .render(area, buf);
        } else {
            Paragraph::new(lines.to_vec())
                .block(block)
                .render(area, buf);
        }
    }
}

/// Rows a path pane takes, borders included.
const PATH_HEIGHT: u16 = super::path::ROWS + 2;

/// Whether `rows` of a side's panes leave room for its path pane without
/// crushing the code.
fn room_for_path(rows: u16) -> bool {
    rows >= 30
}

/// The messages the application was handed, and the side's status.
struct ApplicationPane<'a> {
    lines: &'a [Line<'static>],
}

impl Widget for &ApplicationPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        Paragraph::new(self.lines.to_vec())
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" application "))
            .render(area, buf);
    }
}

/// The calls made; follows the last one unless the user scrolled.
struct CallsPane<'a> {
    lines: &'a [Line<'static>],
    user_scroll: u16,
}

impl Widget for &CallsPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let height = area.height.saturating_sub(2);
        let bottom = (self.lines.len() as u16).saturating_sub(height);
        let scroll = if self.user_scroll > 0 {
            self.user_scroll.min(bottom)
        } else {
            bottom
        };
        Paragraph::new(self.lines.to_vec())
            .block(Block::bordered().title(" calls "))
            .scroll((scroll, 0))
            .render(area, buf);
    }
}

/// One side's title and panes, ready to draw.
struct SidePanes<'a> {
    side: Side,
    title: Line<'static>,
    code: CodePane<'a>,
    content: SideContent,
    hex: bool,
    timeline_scroll: u16,
}

impl SidePanes<'_> {
    /// Draws the panes, the byte and application panes `heights` high; returns the
    /// areas the mouse wheel scrolls.
    fn render(&self, frame: &mut Frame, area: Rect, heights: (u16, u16, u16)) -> [(Pane, Rect); 2] {
        let [title_area, inner] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        let [code_area, bytes_area, path_area, app_area, calls_area] = Layout::vertical([
            Constraint::Min(4),
            Constraint::Length(heights.0),
            Constraint::Length(heights.2),
            Constraint::Length(heights.1),
            Constraint::Min(3),
        ])
        .areas(inner);
        frame.render_widget(&self.title, title_area);
        frame.render_widget(&self.code, code_area);
        let bytes = BytesPane {
            content: &self.content,
            hex: self.hex,
            side: None,
        };
        frame.render_widget(&bytes, bytes_area);
        if path_area.height > 0 {
            frame.render_widget(
                &PathPane {
                    content: &self.content,
                    side: None,
                },
                path_area,
            );
        }
        let application = ApplicationPane {
            lines: &self.content.application,
        };
        frame.render_widget(&application, app_area);
        let calls = CallsPane {
            lines: &self.content.calls,
            user_scroll: self.timeline_scroll,
        };
        frame.render_widget(&calls, calls_area);
        [
            (Pane::Code(self.side), code_area),
            (Pane::Timeline(self.side), calls_area),
        ]
    }
}

fn side_panes<'a>(
    app: &App,
    cache: &'a mut Cache,
    side: Side,
    compact: bool,
    content: SideContent,
) -> SidePanes<'a> {
    let view = app.view();
    let theme = *view.theme();
    let lesson = app.session().lesson();
    let shown = app.shown();
    let events: &[Event] = shown.as_ref().map_or(&[], |s| s.events[side as usize]);
    let status = shown
        .as_ref()
        .and_then(|s| s.status)
        .map(|s| &s[side as usize]);
    let [sender_line, receiver_line] = current_lines(status, events);
    let lang = app.session().lang();
    let at: Vec<u32> = [sender_line, receiver_line].into_iter().flatten().collect();
    let source = lesson.code_at(lang, side, &at);
    let (mut receiver_row, mut sender_row) = (None, None);
    let mut lines: Vec<Line> = Vec::with_capacity(source.len() + 2);
    let mut previous = None;
    for (line, &(number, _)) in cache.code(app, side, &source).iter().zip(&source) {
        // Lines of another part of the file (a helper the run is in) follow a gap.
        if previous.is_some_and(|previous| number > previous + 1) {
            lines.push(Line::styled("     ⋮", theme.faint));
        }
        previous = Some(number);
        let row = lines.len();
        let (mark, style) = if Some(number) == receiver_line {
            receiver_row = Some(row);
            ("▶", theme.highlight)
        } else if Some(number) == sender_line {
            sender_row = Some(row);
            ("▷", theme.sender.patch(theme.bold))
        } else {
            (" ", Style::new())
        };
        let mut spans = vec![
            Span::styled(mark, style),
            Span::styled(format!("{number:>3} "), theme.faint),
        ];
        spans.extend(
            line.spans
                .iter()
                .map(|span| Span::styled(span.content.as_ref(), span.style)),
        );
        let line = Line::from(spans);
        lines.push(if mark != " " {
            line.style(theme.bold)
        } else {
            line
        });
    }
    SidePanes {
        side,
        title: side_title(app, side, compact),
        code: CodePane {
            title: format!(
                " code · {} ",
                lesson.source_path_in(lang).unwrap_or(lesson.source_path)
            ),
            lines,
            marked_rows: receiver_row.into_iter().chain(sender_row).collect(),
            user_scroll: view.code_scroll(side),
        },
        content,
        hex: view.hex(),
        timeline_scroll: view.timeline_scroll(side),
    }
}

/// The side's name (both, the one shown picked out, in the compact layout) and its
/// verdict once the run is over.
fn side_title(app: &App, side: Side, compact: bool) -> Line<'static> {
    let theme = app.view().theme();
    let mut spans = vec![];
    if compact {
        // Both verdicts: the room compares the sides even when one is shown.
        for s in Side::BOTH {
            let style = if s == side { theme.chosen } else { theme.muted };
            spans.push(Span::styled(format!(" {} ", title_case(s.name())), style));
            spans.extend(verdict_mark(app, s));
        }
        spans.push(Span::raw(" (tab) "));
    } else {
        spans.push(Span::styled(
            format!(" {} ", title_case(side.name())),
            theme.bold,
        ));
        spans.extend(verdict_mark(app, side));
    }
    Line::from(spans)
}

/// The side's ✓ or ✗ once the run is over.
fn verdict_mark(app: &App, side: Side) -> Option<Span<'static>> {
    let (ok, _) = outcome_mark(app, side)?;
    let (mark, style) = app.view().theme().verdict(ok);
    Some(Span::styled(format!("{mark} "), style))
}

/// The byte view, bytes held in a user-space buffer, the application view and the
/// call timeline of one side.
fn side_content(app: &App, side: Side, width: usize) -> SideContent {
    let Some(shown) = app.shown() else {
        return SideContent::default();
    };
    let run = shown.run;
    let theme = app.view().theme();
    let events = shown.events[side as usize];
    let reads = diagram::reads(events);
    // What the receiver read and never delivered is dropped once it is done, as of
    // the point shown (stepping back shows the same as going forward did).
    let ended = shown.trace.is_some()
        || shown.status.is_some_and(|status| {
            let status = &status[side as usize];
            status.stopped || status.receiver == ActorState::Done
        });
    let relayed = app.session().mode() != Mode::Direct;
    let where_they_are = path::path_at(
        events,
        &run.stream,
        &run.spans,
        &run.cuts,
        relayed,
        events.len(),
        ended,
    );
    let bytes = ByteView {
        side,
        reads,
        cuts: &run.cuts,
        spans: &run.spans,
        fates: where_they_are.fates.clone(),
        hex: app.view().hex(),
        spaced: app.view().present(),
        color: theme.color,
    }
    .lines(width);
    let limit = app
        .session()
        .lesson()
        .receiver_limit(app.session().lang(), side);
    let path = super::path::lines(&where_they_are, &run.spans, limit, theme, width);
    let path_summary = where_they_are.sizes().summary();

    let mut application = Vec::new();
    let delivered = events.iter().filter(|e| e.call == Call::Deliver);
    for (index, event) in delivered.enumerate() {
        let ok = run.messages.get(index) == Some(&event.bytes);
        let (mark, style) = theme.verdict(ok);
        let mut spans = vec![
            Span::styled(format!("{mark} "), style),
            Span::raw(format!("{} {}", index + 1, quote(&event.bytes))),
        ];
        if !ok {
            let expected = match run.messages.get(index) {
                Some(message) => format!(" (sent {})", quote(message)),
                None => " (never sent)".to_string(),
            };
            spans.push(Span::styled(expected, theme.muted));
        }
        application.push(Line::from(spans));
    }
    let status_line = match explain::side_state(app, side) {
        Some(state @ SideState::RunError(_)) => Line::styled(state.text(), theme.bad),
        Some(SideState::Verdict { ok, describe }) => {
            let (mark, style) = theme.verdict(ok);
            Line::styled(format!("{mark} {describe}"), style)
        }
        Some(state) => Line::styled(state.text(), theme.muted),
        None => Line::default(),
    };
    application.push(status_line);

    let sender_calls: Vec<&Event> = events.iter().filter(|e| e.role == Role::Sender).collect();
    let sent: usize = sender_calls
        .iter()
        .filter(|e| e.call == Call::Send)
        .map(|e| e.moved)
        .sum();
    let mut calls = vec![Line::styled(
        format!(
            "sender: {} call{}, {sent} bytes sent",
            sender_calls.len(),
            if sender_calls.len() == 1 { "" } else { "s" }
        ),
        theme.sender,
    )];
    // The sender's sends interleave with the reads in no fixed order, so they are
    // counted above; its buffering, flushes, shutdowns and short writes are rare and
    // telling.
    let shown = |e: &&Event| {
        e.role != Role::Sender
            || matches!(e.call, Call::Buffer | Call::Flush | Call::Shutdown)
            || (e.call == Call::Send && e.moved < e.asked)
    };
    for event in events.iter().filter(shown) {
        let style = match event.role {
            Role::Relay => theme.faint,
            Role::Sender => theme.sender,
            _ if event.call == Call::Deliver => theme.ok,
            _ => Style::new(),
        };
        calls.push(Line::styled(call_line(event), style));
    }
    SideContent {
        bytes,
        path,
        path_summary,
        application,
        calls,
    }
}

fn title_case(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn render_help(frame: &mut Frame, theme: &Theme, area: Rect, wire: bool) {
    let legend = diagram::legend();
    let legend_rows = legend.chunks(2);
    // In wire mode its own keys come first; the main view's follow, but for those
    // that step (the wire moves the programs there).
    let rows: Vec<&keys::KeyRow> = if wire {
        let rebound = |code: &crossterm::event::KeyCode| {
            keys::WIRE_KEYS
                .iter()
                .flat_map(|row| row.bindings)
                .any(|(bound, _)| bound == code)
        };
        let not_stepping = |row: &&keys::KeyRow| {
            row.bindings.iter().all(|(code, action)| {
                !keys::steps_through_time(*action)
                    && !matches!(action, Action::Faster | Action::Slower)
                    && !rebound(code)
            })
        };
        keys::WIRE_KEYS
            .iter()
            .chain(KEYS.iter().filter(not_stepping))
            .collect()
    } else {
        KEYS.iter().collect()
    };
    let box_area = centered(area, 64, (rows.len() + legend_rows.len()) as u16 + 5);
    let mut lines = vec![Line::from("")];
    for row in rows {
        lines.push(Line::from(vec![
            Span::styled(format!(" {:>15}  ", row.keys), theme.highlight),
            Span::raw(row.does),
        ]));
    }
    lines.push(Line::from(""));
    let last = legend_rows.len() - 1;
    for (i, pair) in legend_rows.enumerate() {
        let meanings: Vec<String> = pair
            .iter()
            .map(|entry| format!("{} {}", entry.glyph, entry.meaning))
            .collect();
        let lead = if i == 0 {
            " In the bytes: "
        } else {
            "               "
        };
        let end = if i == last { "." } else { "," };
        lines.push(Line::styled(
            format!("{lead}{}{end}", meanings.join(", ")),
            theme.muted,
        ));
    }
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(if wire {
            " Keys in wire mode (any key closes) "
        } else {
            " Keys (any key closes) "
        })),
        box_area,
    );
}

/// Draws the lesson list; returns its scroll (keeping the selection in sight) and
/// where it was drawn.
fn render_list(frame: &mut Frame, app: &App, area: Rect, selected: usize) -> (u16, Rect) {
    let session = app.session();
    let theme = app.view().theme();
    let box_area = centered(area, 76, session.lessons().len() as u16 + 2);
    let visible = box_area.height.saturating_sub(2);
    let selected_row = selected as u16;
    let scroll = app
        .view()
        .list_scroll()
        .min(selected_row)
        .max((selected_row + 1).saturating_sub(visible));
    let lines: Vec<Line> = session
        .lessons()
        .iter()
        .enumerate()
        .map(|(i, lesson)| {
            let done = session.progress().completed.contains(lesson.slug);
            let text = format!(
                " {} {:>2} {:<14} {}",
                if done { "✓" } else { " " },
                i + 1,
                lesson.slug,
                lesson.title
            );
            if i == selected {
                Line::styled(text, theme.selected)
            } else {
                Line::from(text)
            }
        })
        .collect();
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(" Lessons (↑↓ enter, esc closes) "))
            .scroll((scroll, 0)),
        box_area,
    );
    (scroll, box_area)
}

/// ` · --cuts 2,7,19` when cuts given by hand cut this run, so it can be shared.
fn cuts_shown(session: &super::app::Session) -> String {
    if session.wire().is_some() {
        return match session.wire_cuts() {
            Some(cuts) => format!(" · wire mode {}", cuts.flag()),
            None => " · wire mode".into(),
        };
    }
    match session.cuts() {
        Some(cuts) if session.mode() != crate::engine::Mode::Direct => {
            format!(" · {}", cuts.flag())
        }
        _ => String::new(),
    }
}

fn render_seed_input(frame: &mut Frame, theme: &Theme, area: Rect, typed: &str) {
    let box_area = centered(area, 44, 3);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(" seed: "),
            Span::styled(format!("{typed}▏"), theme.highlight),
        ]))
        .block(Block::bordered().title(" Run with seed (enter, esc) ")),
        box_area,
    );
}

#[cfg(test)]
mod tests {
    use super::follow;

    #[test]
    fn the_code_pane_keeps_both_marks_in_sight_when_they_fit() {
        // 20 rows in 8: the receiver at 12 and the sender at 6 both show.
        let scroll = follow(&[12, 6], 20, 8);
        assert!(scroll <= 6 && 12 < scroll + 8, "{scroll}");
        // Too far apart: the receiver's row, centred.
        assert_eq!(follow(&[15, 1], 20, 8), 11);
        // One mark, centred, never past the end.
        assert_eq!(follow(&[10], 20, 8), 6);
        assert_eq!(follow(&[19], 20, 8), 12);
        assert_eq!(follow(&[], 20, 8), 0);
        assert_eq!(follow(&[3], 4, 8), 0);
    }
}
