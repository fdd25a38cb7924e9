//! Configuration from environment variables.
//!
//! Every service declares its variables as named constants with a doc
//! comment and a default, and reads them through [`Env`], which collects
//! every problem instead of stopping at the first, so that one start-up
//! reports every bad variable at once.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

/// Reads variables, remembering every one that is malformed, and the name
/// of every one read (so that a test can hold the README's table to what
/// the code reads).
pub struct Env {
    vars: HashMap<String, String>,
    errors: Vec<String>,
    read: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// One or more variables were malformed.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self::from_map(std::env::vars().collect())
    }

    /// An explicit set of variables (tests, the launcher).
    pub fn from_map(vars: HashMap<String, String>) -> Self {
        Self { vars, errors: Vec::new(), read: Default::default() }
    }

    /// Every variable of this one, with `overrides` on top (the launcher
    /// hands the whole environment to each service: none is dropped on
    /// the way).
    pub fn with(&self, overrides: &HashMap<String, String>) -> Self {
        let mut vars = self.vars.clone();
        vars.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        Self::from_map(vars)
    }

    /// The names of every variable read so far, set or not.
    pub fn names_read(&self) -> Vec<String> {
        self.read.lock().map(|r| r.iter().cloned().collect()).unwrap_or_default()
    }

    /// The raw value, if set and not empty.
    pub fn opt_string(&self, name: &str) -> Option<String> {
        if let Ok(mut r) = self.read.lock()
            && !r.contains(name)
        {
            r.insert(name.to_owned());
        }
        self.vars.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.opt_string(name).unwrap_or_else(|| default.to_owned())
    }

    /// A parsed value, or `default` when unset; a malformed value is
    /// recorded and `default` returned so that reading can go on.
    pub fn parse<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.opt_parse(name) {
            Some(v) => v,
            None => default,
        }
    }

    pub fn opt_parse<T>(&mut self, name: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        let raw = self.opt_string(name)?;
        match raw.trim().parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(format!("{name}={raw:?}: {e}"));
                None
            }
        }
    }

    /// `true/false`, `1/0`, `yes/no`, `on/off`.
    pub fn flag(&mut self, name: &str, default: bool) -> bool {
        let Some(raw) = self.opt_string(name) else { return default };
        match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => {
                self.errors.push(format!("{name}={raw:?}: expected true or false"));
                default
            }
        }
    }

    /// Records a problem found by the caller's own checks.
    pub fn invalid(&mut self, name: &str, why: impl Display) {
        self.errors.push(format!("{name}: {why}"));
    }

    /// Ok when every variable read was well-formed.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ConfigError(self.errors)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn reports_every_bad_variable_at_once() {
        let mut e = env(&[("PORT", "eighty"), ("POOL", "-3"), ("FLAG", "maybe"), ("OK", "7")]);
        let _: u16 = e.parse("PORT", 1);
        let _: u32 = e.parse("POOL", 1);
        let _ = e.flag("FLAG", false);
        assert_eq!(e.parse::<u8>("OK", 1), 7);
        let err = e.finish().expect_err("three bad variables");
        assert_eq!(err.0.len(), 3);
        let text = err.to_string();
        assert!(text.contains("PORT") && text.contains("POOL") && text.contains("FLAG"), "{text}");
    }

    #[test]
    fn defaults_apply_to_unset_and_empty() {
        let mut e = env(&[("EMPTY", "  ")]);
        assert_eq!(e.parse::<u16>("EMPTY", 5), 5);
        assert_eq!(e.string("MISSING", "x"), "x");
        assert!(e.flag("MISSING", true));
        e.finish().expect("nothing malformed");
    }
}
