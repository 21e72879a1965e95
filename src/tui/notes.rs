//! Speaker notes: the presenting TUI publishes the lesson and the step on screen
//! on a Unix socket, owner-only; `sockstep notes` in a second terminal follows.
//! The event loop feeds the publisher from app state, never the drawing; a slow
//! or dead follower is dropped, never waited for.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use rustix::event::{PollFd, PollFlags, poll};

use super::app::App;
use super::explain;
use crate::engine::Side;
use crate::render::text::call_line;

const SOCKET_NAME: &str = "sockstep-notes.sock";

/// The socket the TUI publishes on: in `$XDG_RUNTIME_DIR`, else in a private
/// directory under the temp dir named for the user (checked and made here).
pub fn socket_path() -> io::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join(SOCKET_NAME));
    }
    let uid = rustix::process::getuid().as_raw();
    let dir = std::env::temp_dir().join(format!("sockstep-{uid}"));
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Err(error) if error.kind() != io::ErrorKind::AlreadyExists => return Err(error),
        _ => {}
    }
    // Someone else may have made it first: only ours, and only ours to read, will do.
    let meta = fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a directory only this user can open",
                dir.display()
            ),
        ));
    }
    Ok(dir.join(SOCKET_NAME))
}

/// The socket to remove on any way out, panics and second signals included.
static PUBLISHED: Mutex<Option<PathBuf>> = Mutex::new(None);

fn published() -> MutexGuard<'static, Option<PathBuf>> {
    PUBLISHED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the published socket, if any. Safe to call more than once.
pub fn remove_socket() {
    if let Some(path) = published().take() {
        let _ = fs::remove_file(path);
    }
}

/// What the notes say when a lesson opens: which lesson, then its page.
pub fn lesson_message(
    position: usize,
    count: usize,
    slug: &str,
    title: &str,
    page: &str,
) -> String {
    let mut text = format!("══ lesson {position}/{count} · {slug} — {title} ══\n\n");
    text.push_str(page.trim_end());
    text.push_str("\n\n");
    text
}

/// One side at the point on screen: its state and its last call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideNote {
    pub side: Side,
    pub state: String,
    pub last_call: Option<String>,
}

/// One line per step: the point on screen, then each side.
pub fn step_message(step: u32, sides: &[SideNote]) -> String {
    let mut line = format!("step {step}");
    for note in sides {
        line.push_str(&format!(" · {}: {}", note.side.name(), note.state));
        if let Some(call) = &note.last_call {
            line.push_str(&format!(" (last call: {call})"));
        }
    }
    line.push('\n');
    line
}

fn lesson_of(app: &App) -> String {
    let session = app.session();
    let lesson = session.lesson();
    lesson_message(
        session.index() + 1,
        session.lessons().len(),
        lesson.slug,
        lesson.title,
        session.page(),
    )
}

fn step_of(app: &App) -> String {
    let shown = app.shown();
    // The point on screen, as the header says; else the steps taken.
    let step = shown
        .as_ref()
        .and_then(|shown| shown.point)
        .map_or(app.session().steps(), |point| point as u32);
    let sides: Vec<SideNote> = Side::BOTH
        .into_iter()
        .filter_map(|side| {
            let state = explain::side_state(app, side)?;
            let mark = match state {
                explain::SideState::Verdict { ok: true, .. } => "✓ ",
                explain::SideState::Verdict { ok: false, .. } => "✗ ",
                _ => "",
            };
            let last_call = shown.as_ref().and_then(|shown| {
                let event = shown.events[side as usize].last()?;
                // One space between words: the listing pads its columns.
                Some(
                    call_line(event)
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            });
            Some(SideNote {
                side,
                state: format!("{mark}{}", state.text()),
                last_call,
            })
        })
        .collect();
    step_message(step, &sides)
}

/// What a follower has been told, and who follows.
#[derive(Default)]
struct Shared {
    lesson: String,
    step: String,
    followers: Vec<UnixStream>,
}

/// Writes without waiting: a follower that cannot take it all now is dropped.
fn tell(mut follower: &UnixStream, text: &str) -> bool {
    follower.write_all(text.as_bytes()).is_ok()
}

/// Publishes the notes while it lives; dropping it stops the listener and
/// removes the socket.
pub struct Publisher {
    shared: Arc<Mutex<Shared>>,
    /// Closed to stop the listener: its other end then reads as ended.
    stop: Option<UnixStream>,
    listener: Option<JoinHandle<()>>,
}

impl Publisher {
    /// Listens on `path`; a socket left by a crashed TUI is replaced. `Ok(None)`:
    /// another TUI already publishes there.
    pub fn start(path: &Path) -> io::Result<Option<Publisher>> {
        let listener = match UnixListener::bind(path) {
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
                if UnixStream::connect(path).is_ok() {
                    return Ok(None);
                }
                fs::remove_file(path)?;
                UnixListener::bind(path)?
            }
            bound => bound?,
        };
        *published() = Some(path.to_path_buf());
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (stop, stopped) = UnixStream::pair()?;
        let handle = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("notes".into())
                .spawn(move || welcome(listener, &shared, stopped))?
        };
        Ok(Some(Publisher {
            shared,
            stop: Some(stop),
            listener: Some(handle),
        }))
    }

    /// Tells every follower what changed since the last call.
    pub fn update(&mut self, app: &App) {
        let lesson = lesson_of(app);
        let step = step_of(app);
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let news = if shared.lesson != lesson {
            format!("{lesson}{step}")
        } else if shared.step != step {
            step.clone()
        } else {
            return;
        };
        shared.lesson = lesson;
        shared.step = step;
        shared.followers.retain(|follower| tell(follower, &news));
    }
}

/// Accepts followers, telling each the lesson and the step so far, until
/// `stopped` reads as ended.
fn welcome(listener: UnixListener, shared: &Mutex<Shared>, stopped: UnixStream) {
    loop {
        let mut fds = [
            PollFd::new(&listener, PollFlags::IN),
            PollFd::new(&stopped, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return,
            Ok(_) if !fds[1].revents().is_empty() => return,
            Ok(_) => {}
        }
        let Ok((follower, _)) = listener.accept() else {
            continue;
        };
        if follower.set_nonblocking(true).is_err() {
            continue;
        }
        let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
        let so_far = format!("{}{}", shared.lesson, shared.step);
        if tell(&follower, &so_far) {
            shared.followers.push(follower);
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(handle) = self.listener.take() {
            let _ = handle.join();
        }
        remove_socket();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lesson_opens_with_its_place_slug_title_then_its_page() {
        let text = lesson_message(
            2,
            9,
            "length-prefix",
            "Length prefix",
            "# Page\n\nText.\n\n",
        );
        assert_eq!(
            text,
            "══ lesson 2/9 · length-prefix — Length prefix ══\n\n# Page\n\nText.\n\n"
        );
    }

    #[test]
    fn a_step_is_one_line_naming_each_side_its_state_and_last_call() {
        let sides = [
            SideNote {
                side: Side::Naive,
                state: "waiting in recv() at line 12".into(),
                last_call: Some("receiver recv 5 → 2 \"\\x00\\x00\" (line 12)".into()),
            },
            SideNote {
                side: Side::Correct,
                state: "paused before line 20: space steps, enter runs to the end".into(),
                last_call: None,
            },
        ];
        let line = step_message(3, &sides);
        assert_eq!(
            line,
            "step 3 · naive: waiting in recv() at line 12 (last call: receiver recv 5 → 2 \"\\x00\\x00\" (line 12)) · correct: paused before line 20: space steps, enter runs to the end\n"
        );
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn a_follower_that_reads_nothing_is_dropped_not_waited_for() {
        let (follower, _never_reads) = UnixStream::pair().unwrap();
        follower.set_nonblocking(true).unwrap();
        // More than any socket buffer holds: a blocking write would wait forever.
        let flood = "x".repeat(64 << 20);
        assert!(!tell(&follower, &flood));
    }

    #[test]
    fn a_follower_that_left_is_dropped() {
        let (follower, gone) = UnixStream::pair().unwrap();
        follower.set_nonblocking(true).unwrap();
        drop(gone);
        assert!(!tell(&follower, "step 1\n"));
    }

    #[test]
    fn a_page_with_no_trailing_blank_line_still_ends_apart_from_the_steps() {
        let text = lesson_message(1, 1, "a", "A", "last line");
        assert!(text.ends_with("last line\n\n"), "{text:?}");
    }
}
