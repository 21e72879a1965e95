//! Predict, then reveal (`p`): the question about the run about to play, and once it
//! has played, the learner's pick against what happened.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::theme::Theme;
use super::view::centered;
use crate::engine::Trace;
use crate::predict::{self, Question};

/// A question asked, and the choice made (0-based) once there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub question: Question,
    pub picked: Option<usize>,
}

impl Prediction {
    pub fn new(question: Question) -> Prediction {
        Prediction {
            question,
            picked: None,
        }
    }
}

/// Draws the question (and, once the run has ended, the answer) in a box over
/// `area`; returns where the choices are, one per row, for the mouse.
pub fn render(
    frame: &mut Frame,
    theme: &Theme,
    area: Rect,
    prediction: &Prediction,
    trace: Option<&Trace>,
) -> Rect {
    let asked = &prediction.question;
    let width = area.width.min(92);
    let inner = width.saturating_sub(4).max(1) as usize;
    let rows = |text: &str| text.chars().count().div_ceil(inner).max(1) as u16;
    // What happened: the same question of the run that played, so the answer shown
    // is the one this run gave.
    let happened = trace.map(|trace| predict::question(trace, asked.kind));
    let reveal = match (prediction.picked, &happened) {
        (None, _) => vec![Line::styled(
            "Press the number of your answer (or click it). esc: skip",
            theme.muted,
        )],
        (Some(_), None) => vec![Line::styled("The run plays…", theme.muted)],
        (Some(picked), Some(happened)) => reveal_lines(theme, asked, picked, happened),
    };
    let reveal_rows: u16 = reveal
        .iter()
        .map(|line| rows(&line.to_string()))
        .sum::<u16>();
    let choices = asked.choices.len() as u16;
    let height = rows(&asked.prompt) + choices + reveal_rows + 4;
    let box_area = centered(area, width, height);
    frame.render_widget(Clear, box_area);
    let block = Block::bordered().title(" Predict, then watch ");
    let inside = block.inner(box_area);
    frame.render_widget(block, box_area);
    let [prompt_area, _, choices_area, _, reveal_area] = Layout::vertical([
        Constraint::Length(rows(&asked.prompt)),
        Constraint::Length(1),
        Constraint::Length(choices),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inside);
    frame.render_widget(
        Paragraph::new(Span::styled(asked.prompt.as_str(), theme.bold)).wrap(Wrap { trim: true }),
        prompt_area,
    );
    let right = happened.as_ref().map(|h| &h.choices[h.answer]);
    let lines: Vec<Line> = asked
        .choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let is_right = prediction.picked.is_some() && right == Some(choice);
            let mark = match (prediction.picked == Some(i), is_right) {
                (_, true) => "✓",
                (true, false) => "✗",
                _ => " ",
            };
            let style = if is_right {
                theme.ok
            } else if prediction.picked == Some(i) {
                theme.bad
            } else {
                ratatui::style::Style::default()
            };
            Line::from(vec![
                Span::styled(format!("{mark} {}. ", i + 1), theme.highlight),
                Span::styled(choice.as_str(), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), choices_area);
    frame.render_widget(
        Paragraph::new(reveal).wrap(Wrap { trim: true }),
        reveal_area,
    );
    choices_area
}

/// The pick against the run: right or not, what the run did, and the call that
/// decided it.
fn reveal_lines(
    theme: &Theme,
    asked: &Question,
    picked: usize,
    happened: &Question,
) -> Vec<Line<'static>> {
    let right = &happened.choices[happened.answer];
    let verdict = if asked.choices[picked] == *right {
        Line::styled("Right.".to_string(), theme.ok)
    } else {
        match asked.choices.iter().position(|c| c == right) {
            Some(i) => Line::styled(format!("Not this time: it was {}.", i + 1), theme.bad),
            None => Line::styled(format!("Not this time: it was {right}."), theme.bad),
        }
    };
    let decider = happened.decided_by;
    let call = match (decider.seq, decider.line) {
        (Some(_), Some(line)) => format!(
            "Decided by the {} receiver's recv() at line {line}.",
            decider.side.name()
        ),
        (None, Some(line)) => format!(
            "Decided at line {line}: the {} receiver's recv() that never returned.",
            decider.side.name()
        ),
        _ => String::new(),
    };
    let mut lines = vec![
        verdict,
        Line::from(format!("The run: {}.", happened.reveal)),
    ];
    if !call.is_empty() {
        lines.push(Line::styled(call, theme.highlight));
    }
    lines.push(Line::styled("Any key: back to the run.", theme.muted));
    lines
}
