//! The app's few command-line flags. Parsed by hand: three flags do not earn a parser.

/// What the app was started with.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// Start in the tray only, with no window.
    pub minimized: bool,
    /// Be the dashboard window of the running tray app (or headless engine), not a tray app.
    pub dashboard: bool,
}

/// Parsing ended the process: help, version, or a usage error.
pub struct Exit {
    message: String,
    code: i32,
}

impl Exit {
    pub fn exit(self) -> ! {
        if self.code == 0 {
            println!("{}", self.message);
        } else {
            eprintln!("{}", self.message);
        }
        std::process::exit(self.code)
    }
}

const USAGE: &str = "Usage: tokentray-app [--minimized | --dashboard]\n\n  --minimized  start in the tray with no window (launch at login uses this)\n  --dashboard  open only the dashboard of the Tokentray already running\n  --version    print the version\n  --help       print this help";

impl Args {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Args, Exit> {
        let mut parsed = Args::default();
        for arg in args {
            match arg.as_str() {
                tokentray_host::autostart::MINIMIZED_ARG => parsed.minimized = true,
                tokentray_host::dashboard::DASHBOARD_ARG => parsed.dashboard = true,
                "--version" | "-V" => {
                    return Err(Exit {
                        message: format!("tokentray-app {}", env!("TOKENTRAY_VERSION")),
                        code: 0,
                    })
                }
                "--help" | "-h" => {
                    return Err(Exit {
                        message: USAGE.to_owned(),
                        code: 0,
                    })
                }
                other => {
                    return Err(Exit {
                        message: format!("tokentray-app: unknown argument {other:?}\n\n{USAGE}"),
                        code: 2,
                    })
                }
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<Args, Exit> {
        Args::parse(v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn minimized_flag_and_unknown_arguments() {
        assert!(parse(&["--minimized"]).is_ok_and(|a| a.minimized));
        assert!(parse(&[]).is_ok_and(|a| !a.minimized && !a.dashboard));
        assert!(parse(&["--dashboard"]).is_ok_and(|a| a.dashboard));
        assert!(parse(&["--bogus"]).is_err_and(|e| e.code == 2));
        assert!(parse(&["--version"]).is_err_and(|e| e.code == 0));
    }
}
