//! `rl`: trains, resumes and evaluates runs described by TOML files (see the library's docs).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rl_cli::main()
}
