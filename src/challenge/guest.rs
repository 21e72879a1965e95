//! The learner's program: started, watched, killed. (Stub: the guest helper writes
//! it; `install_reaper` is the contract the CLI calls.)

/// Kills every running guest's process group when sockstep is interrupted
/// (SIGINT, SIGTERM, SIGHUP), then exits with 130.
pub fn install_reaper() -> std::io::Result<()> {
    Ok(())
}
