//! Wire mode's panel (`w`): the bytes the senders have written that the wire has
//! not delivered, the caret where the next piece ends, and the `--cuts` flag that
//! replays the cuts made. It only draws the session's state; `App` changes it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::app::App;
use crate::engine::{Side, WireEnd};
use crate::render::diagram;

/// Rows the panel takes: its border and two lines.
pub const HEIGHT: u16 = 4;

/// The caret, between the last byte of the next piece and the rest.
const CARET: char = '▏';

pub struct WirePanel<'a> {
    pub app: &'a App,
}

impl Widget for &WirePanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let session = self.app.session();
        let theme = self.app.view().theme();
        let Some(wire) = session.wire() else { return };
        let width = area.width.saturating_sub(2) as usize;
        let hex = self.app.view().hex();
        let bytes_line = match (session.wire_span(), session.caret(), session.run()) {
            (Some((first, last)), Some(caret), Some(run)) => {
                let held = &run.stream[first..last];
                let cell = |byte: &u8| {
                    if hex {
                        format!("{byte:02x} ")
                    } else {
                        diagram::glyph(*byte).to_string()
                    }
                };
                let label = format!(" @{first} ");
                let room = width.saturating_sub(label.chars().count() + 2);
                let per_byte = if hex { 3 } else { 1 };
                let fits = (room / per_byte).max(1);
                // Keep the caret in sight: the window ends a little after it.
                let before = caret - first;
                let start = before.saturating_sub(fits.saturating_sub(fits / 3).max(1));
                let end = (start + fits).min(held.len());
                let mut spans = vec![Span::styled(label, theme.muted)];
                if start > 0 {
                    spans.push(Span::styled("…", theme.muted));
                }
                let piece: String = held[start..before].iter().map(cell).collect();
                spans.push(Span::styled(piece, theme.highlight));
                spans.push(Span::styled(CARET.to_string(), theme.bold));
                let rest: String = held[before..end.max(before)].iter().map(cell).collect();
                spans.push(Span::styled(rest, theme.muted));
                if end < held.len() {
                    spans.push(Span::styled("…", theme.muted));
                }
                Line::from(spans)
            }
            _ => Line::styled(
                match wire.made.end() {
                    Some(end) => format!(
                        " the wire {} the stream at byte {}",
                        match end {
                            WireEnd::Close => "closed (FIN)",
                            WireEnd::Reset => "reset (RST)",
                        },
                        wire.made.end_offset()
                    ),
                    None if session.run().is_some_and(|run| run.is_done()) => {
                        " the wire has delivered all the senders wrote".into()
                    }
                    None => " the wire holds nothing: the senders have written no more".into(),
                },
                theme.muted,
            ),
        };
        let mut what = Vec::new();
        match (session.wire_span(), session.caret()) {
            (Some((first, _)), Some(caret)) => {
                let n = caret - first;
                what.push(Span::styled(" c", theme.bold));
                what.push(Span::raw(format!(
                    " delivers bytes {first}–{} ({n} byte{}) as one piece",
                    caret - 1,
                    if n == 1 { "" } else { "s" }
                )));
                let waiting: Vec<&str> = session
                    .run()
                    .and_then(|run| run.status.as_ref())
                    .map(|status| {
                        Side::BOTH
                            .into_iter()
                            .filter(|&side| status[side as usize].awaits_cut)
                            .map(Side::name)
                            .collect()
                    })
                    .unwrap_or_default();
                let waiting = match waiting[..] {
                    [] => None,
                    [side] => Some(format!(" · the {side} receiver waits in recv()")),
                    _ => Some(" · both receivers wait in recv()".to_string()),
                };
                if let Some(waiting) = waiting {
                    what.push(Span::styled(waiting, theme.muted));
                }
            }
            _ if session.run().is_some_and(|run| run.is_done()) => {
                what.push(Span::raw(
                    " the run is over · w: step through it with these cuts",
                ));
            }
            _ => {}
        }
        if let Some(cuts) = session.wire_cuts() {
            what.push(Span::styled(format!(" · {}", cuts.flag()), theme.ok));
        }
        Paragraph::new(vec![bytes_line, Line::from(what)])
            .block(
                Block::bordered()
                    .title(" The wire: you cut it (←→ caret, c deliver, F FIN, R RST) "),
            )
            .render(area, buf);
    }
}
