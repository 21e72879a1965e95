//! Drawing: the app's state in, a frame out. Nothing here changes what a run does.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::app::{AUTOPLAY_SPEEDS_MS, App, Overlay, Pane};
use super::bytes::{ByteView, CUT_AND_RECV};
use super::{code, markdown};
use crate::engine::trace::quote;
use crate::engine::{ActorState, Call, Event, Role, Side, SideStatus};
use crate::render::text::{CUT, RECV, call_line};

/// Smallest terminal the TUI draws in.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 18;
/// Narrower than this, one side is shown at a time.
pub const WIDE: u16 = 100;

/// What one side's panes show, built from the run's events.
type SideContent = (
    Vec<Line<'static>>,
    Option<Vec<u8>>,
    Vec<Line<'static>>,
    Vec<Line<'static>>,
);

/// Everything a side's content depends on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ContentKey {
    run: Option<u64>,
    side: Side,
    engine_events: u64,
    hex: bool,
    color: bool,
    width: usize,
}

/// What is costly to build and rarely changes: highlighted code per (lesson, side),
/// the rendered page, and each side's content until the next engine event.
#[derive(Default)]
pub struct Cache {
    code: HashMap<(usize, Side), Vec<Line<'static>>>,
    page: Option<(String, bool, Vec<Line<'static>>)>,
    content: HashMap<ContentKey, SideContent>,
}

impl Cache {
    fn side_content(&mut self, app: &App, side: Side, width: usize) -> SideContent {
        let key = ContentKey {
            run: app.run.as_ref().map(|r| r.id),
            side,
            engine_events: app.engine_events,
            hex: app.hex,
            color: app.color,
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

    fn code(&mut self, app: &App, side: Side) -> &[Line<'static>] {
        let key = (app.index, side);
        let ready = self
            .code
            .get(&key)
            .is_some_and(|lines| !lines.is_empty() && (!app.color || lines[0].style.fg.is_some()));
        if !ready {
            let lesson = app.lesson();
            let source = lesson.anchor_lines(side.name());
            let texts: Vec<&str> = source.iter().map(|(_, text)| *text).collect();
            let highlighted = if app.color {
                code::highlight(&texts)
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
            self.code.insert(key, lines);
        }
        &self.code[&key]
    }

    fn page(&mut self, app: &App) -> &[Line<'static>] {
        let fresh = self
            .page
            .as_ref()
            .is_some_and(|(text, color, _)| *text == app.page && *color == app.color);
        if !fresh {
            let lines = markdown::render(&app.page, app.color);
            self.page = Some((app.page.clone(), app.color, lines));
        }
        &self.page.as_ref().expect("just set").2
    }
}

fn tint(app: &App, color: Color) -> Style {
    if app.color {
        Style::new().fg(color)
    } else {
        Style::new()
    }
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame, app: &mut App, cache: &mut Cache) {
    let area = frame.area();
    app.hit_areas.clear();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let message = format!(
            "sockstep needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {}×{}.\nMake the window bigger, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(message).wrap(Wrap { trim: true }), area);
        return;
    }
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(frame, app, header);
    render_footer(frame, app, footer);

    let compact = area.width < WIDE;
    app.compact = compact;
    let show_text = app.show_text.unwrap_or(!compact);
    if compact {
        if show_text {
            render_text(frame, app, cache, body);
        } else {
            let content = cache.side_content(app, app.focus, body.width.saturating_sub(2) as usize);
            let heights = pane_heights(&content, body);
            render_side(frame, app, cache, app.focus, body, true, heights, content);
        }
    } else {
        let columns_area = if show_text {
            let text_height = (body.height * 3 / 10).max(5);
            let [columns, text] =
                Layout::vertical([Constraint::Min(8), Constraint::Length(text_height)]).areas(body);
            render_text(frame, app, cache, text);
            columns
        } else {
            body
        };
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(columns_area);
        let width = left.width.saturating_sub(2) as usize;
        let [naive, correct] = Side::BOTH.map(|side| cache.side_content(app, side, width));
        // Both columns get the same pane heights, so the panes line up.
        let (a, b) = (pane_heights(&naive, left), pane_heights(&correct, left));
        let heights = (a.0.max(b.0), a.1.max(b.1));
        render_side(frame, app, cache, Side::Naive, left, false, heights, naive);
        render_side(
            frame,
            app,
            cache,
            Side::Correct,
            right,
            false,
            heights,
            correct,
        );
    }

    match app.overlay.clone() {
        Overlay::None => {}
        Overlay::Help => render_help(frame, app, area),
        Overlay::LessonList { selected } => render_list(frame, app, area, selected),
        Overlay::SeedInput { typed } => render_seed_input(frame, app, area, &typed),
    }
}

fn render_header(frame: &mut Frame, app: &App, area: Rect) {
    let lesson = app.lesson();
    let mode = app.mode.name();
    let mut spans = vec![
        Span::styled(
            " sockstep ",
            if app.color {
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
            },
        ),
        Span::raw(format!(" {}/{} ", app.index + 1, app.lessons.len())),
        Span::styled(lesson.slug, Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(
            format!(" · {mode} · seed {} · step {} ", app.seed, app.steps),
            tint(app, Color::Gray),
        ),
    ];
    if let Some(speed) = app.autoplay {
        spans.push(Span::styled(
            format!("▶ autoplay {} ms ", AUTOPLAY_SPEEDS_MS[speed]),
            tint(app, Color::Green),
        ));
    }
    spans.push(Span::raw(format!("— {}", lesson.title)));
    frame.render_widget(Line::from(spans), area);
}

fn render_footer(frame: &mut Frame, app: &App, area: Rect) {
    let line = match &app.notice {
        Some(notice) => Line::styled(format!(" {notice}"), tint(app, Color::Yellow)),
        None => {
            let keys: &[(&str, &str)] = if area.width < WIDE {
                &[
                    ("space", "step"),
                    ("enter", "run"),
                    ("tab", "side"),
                    ("t", "text"),
                    ("←→", "lesson"),
                    ("?", "help"),
                    ("q", "quit"),
                ]
            } else {
                &[
                    ("space", "step"),
                    ("enter", "run"),
                    ("r", "new seed"),
                    ("s", "seed"),
                    ("f", "mode"),
                    ("←→", "lesson"),
                    ("l", "list"),
                    ("x", "hex"),
                    ("t", "text"),
                    ("a", "autoplay"),
                    ("?", "help"),
                    ("q", "quit"),
                ]
            };
            let mut spans = vec![Span::raw(" ")];
            for (key, what) in keys {
                spans.push(Span::styled(
                    *key,
                    Style::new().add_modifier(Modifier::BOLD),
                ));
                spans.push(Span::styled(format!(" {what} "), tint(app, Color::Gray)));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(line, area);
}

fn render_text(frame: &mut Frame, app: &mut App, cache: &mut Cache, area: Rect) {
    let lines = cache.page(app).to_vec();
    let block = Block::bordered().title(" Lesson (t hides, PgUp/PgDn scroll) ");
    let inner_height = area.height.saturating_sub(2);
    let max_scroll = (lines.len() as u16).saturating_sub(inner_height.max(1) / 2);
    app.text_scroll = app.text_scroll.min(max_scroll);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((app.text_scroll, 0)),
        area,
    );
    app.hit_areas.push((Pane::Text, area));
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
    let trace = app.run.as_ref()?.trace.as_ref()?;
    let outcome = &trace.side(side).outcome;
    Some((outcome.is_delivered(), outcome.describe()))
}

/// Heights of the byte pane and the application pane for this side's content.
fn pane_heights(content: &SideContent, area: Rect) -> (u16, u16) {
    let inner = area.height.saturating_sub(1);
    let width = area.width.saturating_sub(2) as usize;
    let (byte_lines, buffered, app_lines, _) = content;
    let byte_height =
        (byte_lines.len() as u16 + 2 + u16::from(buffered.is_some())).clamp(4, inner / 3);
    let app_rows: usize = app_lines
        .iter()
        .map(|line| line.width().max(1).div_ceil(width.max(1)))
        .sum();
    let app_height = (app_rows as u16 + 2).clamp(3, inner / 4);
    (byte_height, app_height)
}

#[allow(clippy::too_many_arguments)]
fn render_side(
    frame: &mut Frame,
    app: &mut App,
    cache: &mut Cache,
    side: Side,
    area: Rect,
    compact: bool,
    (byte_height, app_height): (u16, u16),
    (byte_lines, buffered, app_lines, timeline): SideContent,
) {
    let title = {
        let mut spans = vec![];
        if compact {
            for s in Side::BOTH {
                let style = if s == side {
                    Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
                } else {
                    tint(app, Color::Gray)
                };
                spans.push(Span::styled(format!(" {} ", title_case(s.name())), style));
            }
            spans.push(Span::raw(" (tab) "));
        } else {
            spans.push(Span::styled(
                format!(" {} ", title_case(side.name())),
                Style::new().add_modifier(Modifier::BOLD),
            ));
        }
        if let Some((ok, _)) = outcome_mark(app, side) {
            spans.push(if ok {
                Span::styled("✓ ", tint(app, Color::Green).add_modifier(Modifier::BOLD))
            } else {
                Span::styled("✗ ", tint(app, Color::Red).add_modifier(Modifier::BOLD))
            });
        }
        Line::from(spans)
    };
    let [title_area, inner] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(title, title_area);

    let [code_area, bytes_area, app_area, timeline_area] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(byte_height),
        Constraint::Length(app_height),
        Constraint::Min(3),
    ])
    .areas(inner);

    // Code, with the executing lines marked.
    let lesson = app.lesson();
    let numbers: Vec<u32> = lesson
        .anchor_lines(side.name())
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let run = app.run.as_ref();
    let events: &[Event] = run
        .map(|r| r.events[side as usize].as_slice())
        .unwrap_or(&[]);
    let status = run
        .and_then(|r| r.status.as_ref())
        .map(|s| &s[side as usize]);
    let [sender_line, receiver_line] = current_lines(status, events);
    let code_lines = cache.code(app, side);
    let mut marked_row = None;
    let lines: Vec<Line> = code_lines
        .iter()
        .zip(&numbers)
        .enumerate()
        .map(|(row, (line, number))| {
            let (mark, style) = if Some(*number) == receiver_line {
                marked_row = Some(row);
                ("▶", tint(app, Color::Yellow).add_modifier(Modifier::BOLD))
            } else if Some(*number) == sender_line {
                marked_row = marked_row.or(Some(row));
                ("▷", tint(app, Color::Cyan).add_modifier(Modifier::BOLD))
            } else {
                (" ", Style::new())
            };
            let mut spans = vec![
                Span::styled(mark, style),
                Span::styled(format!("{number:>3} "), tint(app, Color::DarkGray)),
            ];
            spans.extend(
                line.spans
                    .iter()
                    .map(|span| Span::styled(span.content.as_ref(), span.style)),
            );
            let line = Line::from(spans);
            if mark != " " {
                line.style(Style::new().add_modifier(Modifier::BOLD))
            } else {
                line
            }
        })
        .collect();
    let code_height = code_area.height.saturating_sub(2);
    let auto_scroll = marked_row
        .map(|row| (row as u16).saturating_sub(code_height / 2))
        .unwrap_or(0)
        .min((lines.len() as u16).saturating_sub(code_height));
    let scroll = if app.code_scroll[side as usize] > 0 {
        app.code_scroll[side as usize].min((lines.len() as u16).saturating_sub(1))
    } else {
        auto_scroll
    };
    let code_title = format!(" code · {} ", lesson.source_path);
    frame.render_widget(
        Paragraph::new(lines)
            .block(
                Block::bordered()
                    .title(code_title)
                    .title_bottom(Line::from(" ▶ receiver  ▷ sender ").right_aligned()),
            )
            .scroll((scroll, 0)),
        code_area,
    );
    app.hit_areas.push((Pane::Code(side), code_area));

    // Bytes.
    let mut bytes = Vec::new();
    if let Some(held) = buffered {
        bytes.push(Line::from(vec![
            Span::styled(
                "in the sender's buffer, not sent: ",
                tint(app, Color::Yellow),
            ),
            Span::raw(quote(&held)),
        ]));
    }
    bytes.extend(byte_lines);
    let legend = format!(" {CUT} cut  {RECV} recv()  {CUT_AND_RECV} both  ╰─╯ one recv() ");
    frame.render_widget(
        Paragraph::new(bytes).block(
            Block::bordered()
                .title(if app.hex {
                    " bytes received (hex) "
                } else {
                    " bytes received "
                })
                .title_bottom(Line::from(legend).right_aligned()),
        ),
        bytes_area,
    );

    frame.render_widget(
        Paragraph::new(app_lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" application ")),
        app_area,
    );

    let timeline_height = timeline_area.height.saturating_sub(2);
    let bottom = (timeline.len() as u16).saturating_sub(timeline_height);
    let scroll = if app.timeline_scroll[side as usize] > 0 {
        app.timeline_scroll[side as usize].min(bottom)
    } else {
        bottom
    };
    frame.render_widget(
        Paragraph::new(timeline)
            .block(Block::bordered().title(" calls "))
            .scroll((scroll, 0)),
        timeline_area,
    );
    app.hit_areas.push((Pane::Timeline(side), timeline_area));
}

/// The byte view, bytes held in a user-space buffer, the application view and the
/// call timeline of one side.
fn side_content(app: &App, side: Side, width: usize) -> SideContent {
    let Some(run) = app.run.as_ref() else {
        return (Vec::new(), None, Vec::new(), Vec::new());
    };
    let events = &run.events[side as usize];
    let reads: Vec<&[u8]> = events
        .iter()
        .filter(|e| e.role == Role::Receiver && e.call == Call::Recv && e.moved > 0)
        .map(|e| e.bytes.as_slice())
        .collect();
    let byte_lines = ByteView {
        side,
        reads,
        cuts: &run.cuts,
        spans: &run.spans,
        hex: app.hex,
        color: app.color,
    }
    .lines(width);

    // Bytes a buffered writer accepted but has not flushed.
    let buffered: Vec<u8> = events
        .iter()
        .filter(|e| e.call == Call::Buffer)
        .flat_map(|e| e.bytes.iter().copied())
        .collect();
    let flushed: usize = events
        .iter()
        .filter(|e| e.call == Call::Flush)
        .map(|e| e.moved)
        .sum();
    let held = (buffered.len() > flushed).then(|| buffered[flushed..].to_vec());

    let mut app_lines = Vec::new();
    let delivered = events.iter().filter(|e| e.call == Call::Deliver);
    for (index, event) in delivered.enumerate() {
        let ok = run.messages.get(index) == Some(&event.bytes);
        let (mark, color) = if ok {
            ("✓", Color::Green)
        } else {
            ("✗", Color::Red)
        };
        let mut spans = vec![
            Span::styled(
                format!("{mark} "),
                tint(app, color).add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("{} {}", index + 1, quote(&event.bytes))),
        ];
        if !ok {
            let expected = match run.messages.get(index) {
                Some(message) => format!(" (sent {})", quote(message)),
                None => " (never sent)".to_string(),
            };
            spans.push(Span::styled(expected, tint(app, Color::Gray)));
        }
        app_lines.push(Line::from(spans));
    }
    let status_line = if let Some(error) = &run.error {
        Line::styled(
            format!("the run could not start: {error}"),
            tint(app, Color::Red),
        )
    } else if let Some((ok, describe)) = outcome_mark(app, side) {
        let color = if ok { Color::Green } else { Color::Red };
        Line::styled(
            format!("{} {describe}", if ok { "✓" } else { "✗" }),
            tint(app, color).add_modifier(Modifier::BOLD),
        )
    } else {
        let status = run.status.as_ref().map(|s| &s[side as usize]);
        let text = match status.map(|s| (s.receiver, s.sender)) {
            Some((ActorState::AtGate { line }, _)) | Some((_, ActorState::AtGate { line })) => {
                format!(
                    "paused before line {}: space steps, enter runs to the end",
                    line.map_or("?".into(), |l| l.to_string())
                )
            }
            Some((ActorState::Receiving { line }, _)) => {
                format!(
                    "waiting in recv() at line {}",
                    line.map_or("?".into(), |l| l.to_string())
                )
            }
            _ => "running…".to_string(),
        };
        Line::styled(text, tint(app, Color::Gray))
    };
    app_lines.push(status_line);

    let sender_calls: Vec<&Event> = events.iter().filter(|e| e.role == Role::Sender).collect();
    let sent: usize = sender_calls
        .iter()
        .filter(|e| e.call == Call::Send)
        .map(|e| e.moved)
        .sum();
    let mut timeline = vec![Line::styled(
        format!(
            "sender: {} call{}, {sent} bytes sent",
            sender_calls.len(),
            if sender_calls.len() == 1 { "" } else { "s" }
        ),
        tint(app, Color::Cyan),
    )];
    // The sender's sends interleave with the reads in no fixed order, so they are
    // counted above; its buffering, flushes and shutdowns are rare and telling.
    let shown = |e: &&Event| {
        e.role != Role::Sender || matches!(e.call, Call::Buffer | Call::Flush | Call::Shutdown)
    };
    for event in events.iter().filter(shown) {
        let style = match event.role {
            Role::Relay => tint(app, Color::DarkGray),
            Role::Sender => tint(app, Color::Cyan),
            _ if event.call == Call::Deliver => tint(app, Color::Green),
            _ => Style::new(),
        };
        timeline.push(Line::styled(call_line(event), style));
    }
    (byte_lines, held, app_lines, timeline)
}

fn title_case(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// Every key, as the help overlay lists it.
pub const KEYS: &[(&str, &str)] = &[
    ("space", "one step: the next socket call on both sides"),
    ("enter", "run both sides to the end"),
    ("r", "run again with a new seed"),
    ("s", "type a seed"),
    ("f", "mode: lockstep → free-run → direct"),
    ("← → / p n", "previous / next lesson"),
    ("l", "lesson list (✓ = completed)"),
    ("x", "bytes as text ↔ hex"),
    ("t", "show / hide the lesson text"),
    ("PgUp PgDn", "scroll the lesson text (or the mouse wheel)"),
    ("tab", "naive ↔ correct (narrow terminals)"),
    ("a", "autoplay on / off"),
    ("+ / -", "autoplay faster / slower"),
    ("?", "this help"),
    ("q, Esc, Ctrl-C", "quit"),
];

fn render_help(frame: &mut Frame, app: &App, area: Rect) {
    let box_area = centered(area, 64, KEYS.len() as u16 + 6);
    let mut lines = vec![Line::from("")];
    for (key, what) in KEYS {
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {key:>15}  "),
                tint(app, Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        format!(" In the bytes: {CUT} the wire cut here, {RECV} a recv() ended here."),
        tint(app, Color::Gray),
    ));
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys (any key closes) ")),
        box_area,
    );
}

fn render_list(frame: &mut Frame, app: &mut App, area: Rect, selected: usize) {
    let box_area = centered(area, 76, app.lessons.len() as u16 + 2);
    let visible = box_area.height.saturating_sub(2);
    if (selected as u16) < app.list_scroll {
        app.list_scroll = selected as u16;
    } else if selected as u16 >= app.list_scroll + visible {
        app.list_scroll = selected as u16 + 1 - visible;
    }
    let lines: Vec<Line> = app
        .lessons
        .iter()
        .enumerate()
        .map(|(i, lesson)| {
            let done = app.progress.completed.contains(lesson.slug);
            let text = format!(
                " {} {:>2} {:<14} {}",
                if done { "✓" } else { " " },
                i + 1,
                lesson.slug,
                lesson.title
            );
            if i == selected {
                Line::styled(text, Style::new().add_modifier(Modifier::REVERSED))
            } else {
                Line::from(text)
            }
        })
        .collect();
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(" Lessons (↑↓ enter, esc closes) "))
            .scroll((app.list_scroll, 0)),
        box_area,
    );
    app.hit_areas.push((Pane::LessonList, box_area));
}

fn render_seed_input(frame: &mut Frame, app: &App, area: Rect, typed: &str) {
    let box_area = centered(area, 44, 3);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(" seed: "),
            Span::styled(
                format!("{typed}▏"),
                tint(app, Color::Yellow).add_modifier(Modifier::BOLD),
            ),
        ]))
        .block(Block::bordered().title(" Run with seed (enter, esc) ")),
        box_area,
    );
}
