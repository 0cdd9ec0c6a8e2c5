//! The benchmark's command line: the sections to measure, and the emulated link's settings
//! (`--link-size 256M --link-rate 25M --link-latency 20ms`), so that the link case can be tried
//! on a small archive, or another link, without editing the source. Anything else is refused
//! with a message: a typo must not quietly measure something else.

use crate::link::LinkSettings;

/// The sections that can be named (`cargo xtask bench calls cli`); none named means all.
/// `download` includes the emulated link; `link` alone is that case only, for quick runs.
const SECTIONS: &[&str] = &["download", "link", "auth", "calls", "cli"];

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub struct Args {
    /// The sections named (none: all).
    pub sections: Vec<String>,
    /// The emulated link's settings: the issue's unless flags say otherwise.
    pub link: LinkSettings,
}

impl Args {
    /// Whether `section` is to be measured.
    pub fn wants(&self, section: &str) -> bool {
        self.sections.is_empty() || self.sections.iter().any(|name| name == section)
    }
}

/// Reads the arguments after the program's name; the error is the message to print.
pub fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        sections: Vec::new(),
        link: LinkSettings::default(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            if !SECTIONS.contains(&arg.as_str()) {
                return Err(format!(
                    "unknown benchmark section `{arg}`; the sections are {} (none: all)",
                    SECTIONS.join(", ")
                ));
            }
            parsed.sections.push(arg.clone());
            continue;
        };
        // `--flag value` or `--flag=value`.
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, value.to_owned()),
            None => (
                flag,
                args.next()
                    .ok_or_else(|| format!("`--{flag}` needs a value"))?
                    .clone(),
            ),
        };
        match name {
            "link-size" => parsed.link.size = nonzero_size(&value, name)?,
            "link-rate" => parsed.link.rate = nonzero_size(&value, name)?,
            "link-latency" => parsed.link.latency_ms = milliseconds(&value)?,
            _ => {
                return Err(format!(
                    "unknown flag `--{name}`; the flags are --link-size, --link-rate and \
                     --link-latency"
                ));
            }
        }
    }
    Ok(parsed)
}

/// A size as the sandbox's flags write it: digits, then K, M or G (powers of 1024), never 0
/// (an empty archive or a link that sends nothing measures nothing).
fn nonzero_size(text: &str, flag: &str) -> Result<u64, String> {
    let units = [("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)];
    let (digits, unit) = units
        .iter()
        .find_map(|&(suffix, unit)| text.strip_suffix(suffix).map(|digits| (digits, unit)))
        .unwrap_or((text, 1));
    digits
        .parse::<u64>()
        .ok()
        .and_then(|value| value.checked_mul(unit))
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| format!("`--{flag} {text}` is not a size above 0 (e.g. 256M or 4G)"))
}

/// A latency as the sandbox's `--link-latency` writes it: `20` or `20ms`.
fn milliseconds(text: &str) -> Result<u64, String> {
    text.strip_suffix("ms")
        .unwrap_or(text)
        .parse()
        .map_err(|_| format!("`--link-latency {text}` is not milliseconds (e.g. 20 or 20ms)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Args, String> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        parse(&args)
    }

    #[test]
    fn no_arguments_mean_every_section_and_the_issues_link() {
        let args = parsed(&[]).unwrap();
        assert!(args.wants("download") && args.wants("link") && args.wants("cli"));
        assert_eq!(args.link, LinkSettings::default());
        assert_eq!(args.link.size, 4 << 30);
        assert_eq!(args.link.rate, 25 << 20);
        assert_eq!(args.link.latency_ms, 20);
    }

    #[test]
    fn flags_override_the_link_in_both_spellings() {
        let args = parsed(&[
            "link",
            "--link-size",
            "256M",
            "--link-rate=512K",
            "--link-latency",
            "5ms",
        ])
        .unwrap();
        assert_eq!(args.sections, ["link"]);
        assert!(args.wants("link") && !args.wants("download"));
        assert_eq!(args.link.size, 256 << 20);
        assert_eq!(args.link.rate, 512 << 10);
        assert_eq!(args.link.latency_ms, 5);
        assert_eq!(parsed(&["--link-latency=7"]).unwrap().link.latency_ms, 7);
        assert_eq!(parsed(&["--link-size", "1000"]).unwrap().link.size, 1000);
    }

    #[test]
    fn mistakes_are_refused() {
        for args in [
            &["downloads"][..],
            &["--link-sise", "1G"],
            &["--link-size"],
            &["--link-size", "0"],
            &["--link-size", "1T"],
            &["--link-size", "99999999999G"],
            &["--link-rate", "fast"],
            &["--link-latency", "20s"],
        ] {
            assert!(parsed(args).is_err(), "{args:?} was accepted");
        }
    }
}
