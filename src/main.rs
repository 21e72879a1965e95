fn main() -> std::process::ExitCode {
    sockstep::cli::main()
}
