//! Presenter mode (`P`, `--present`): the layout for a room. Both sides' verdicts
//! big and at the top, both byte views full width with the bytes spaced apart (the
//! one byte-view model, `spaced`), and the code only around the executing lines; the
//! calls and the lesson text are left to the speaker.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use super::{App, BytesPane, Cache, Pane, SideContent, WIDE, outcome_mark, side_panes, title_case};
use crate::engine::Side;

/// Taller than this, the verdicts and the code get room to breathe.
const TALL: u16 = 30;

/// Draws the presenter layout in `area`; returns the code panes, for the mouse wheel.
pub(super) fn render(
    frame: &mut Frame,
    app: &App,
    cache: &mut Cache,
    area: Rect,
) -> Vec<(Pane, Rect)> {
    let tall = area.height >= TALL;
    let width = area.width.saturating_sub(2) as usize;
    let contents = Side::BOTH.map(|side| cache.side_content(app, side, width));
    let verdicts = Side::BOTH.map(|side| verdict(app, side, &contents[side as usize]));

    let [verdict_row, naive_area, correct_area, code_row] = Layout::vertical([
        Constraint::Length(verdict_height(&verdicts, area.width / 2, tall)),
        Constraint::Fill(1),
        Constraint::Fill(1),
        // Five lines of code around the executing ones; three in a small terminal.
        Constraint::Length(if tall { 7 } else { 5 }),
    ])
    .areas(area);

    let halves: [Rect; 2] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(verdict_row);
    for ((side, line), half) in Side::BOTH.into_iter().zip(verdicts).zip(halves) {
        let padding = if tall { vec![Line::default()] } else { vec![] };
        let lines: Vec<Line> = padding.iter().cloned().chain([line]).collect();
        frame.render_widget(
            Paragraph::new(lines)
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: true })
                .block(
                    Block::bordered()
                        .border_type(BorderType::Thick)
                        .title(Span::styled(
                            format!(" {} ", title_case(side.name())),
                            app.view().theme().bold,
                        )),
                ),
            half,
        );
    }

    for ((side, content), byte_area) in Side::BOTH
        .into_iter()
        .zip(&contents)
        .zip([naive_area, correct_area])
    {
        let content = roomy(content, byte_area.height.saturating_sub(2));
        let bytes = BytesPane {
            content: &content,
            hex: app.view().hex(),
            side: Some(side),
        };
        frame.render_widget(&bytes, byte_area);
    }

    // Both sides' code side by side when wide; else the side `tab` picks.
    let shown: Vec<Side> = if area.width >= WIDE {
        Side::BOTH.to_vec()
    } else {
        vec![app.view().focus()]
    };
    let columns = Layout::horizontal(vec![Constraint::Fill(1); shown.len()]).split(code_row);
    let mut hit_areas = Vec::new();
    for (side, &code_area) in shown.into_iter().zip(columns.iter()) {
        let mut panes = side_panes(app, cache, side, false, SideContent::default());
        panes.code.title = format!(" {}{}", side.name(), panes.code.title);
        frame.render_widget(&panes.code, code_area);
        hit_areas.push((Pane::Code(side), code_area));
    }
    hit_areas
}

/// The side's verdict once the run is over, else what it is doing, in bold.
fn verdict(app: &App, side: Side, content: &SideContent) -> Line<'static> {
    let theme = app.view().theme();
    match outcome_mark(app, side) {
        Some((ok, describe)) => {
            let (mark, style) = theme.verdict(ok);
            Line::styled(
                format!("{mark} {describe}"),
                style.add_modifier(Modifier::BOLD),
            )
        }
        None => content.application.last().cloned().unwrap_or_default(),
    }
}

/// Rows for the verdicts `width` columns wide, borders (and padding when tall) included.
fn verdict_height(verdicts: &[Line; 2], width: u16, tall: bool) -> u16 {
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let rows = verdicts
        .iter()
        .map(|line| line.width().max(1).div_ceil(inner))
        .max()
        .unwrap_or(1) as u16;
    rows.min(3) + 2 + 2 * u16::from(tall)
}

/// The byte view with a blank line after each row's brackets when `height` rows
/// have room for them: rows spaced apart, as the bytes are.
fn roomy(content: &SideContent, height: u16) -> SideContent {
    let mut content = content.clone();
    let rows = content.bytes.len();
    if rows + content.bytes.len() / 2 <= usize::from(height) {
        content.bytes = content
            .bytes
            .chunks(2)
            .flat_map(|pair| pair.iter().cloned().chain([Line::default()]))
            .collect();
    }
    content
}
