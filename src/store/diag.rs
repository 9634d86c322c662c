//! Diagnostics: what recovery and error handling found, sent to the `log`
//! crate (for Rust programs that install a logger) and to an optional sink
//! the program sets (the C layer's `log_cb`).

pub use log::Level;

pub type Sink = Box<dyn Fn(Level, &str) + Send + Sync>;

/// Where a store's diagnostics go.
pub struct Diag {
    sink: Option<Sink>,
    max: Level,
}

impl Diag {
    pub fn new(sink: Option<Sink>, max: Level) -> Diag {
        Diag { sink, max }
    }

    pub fn none() -> Diag {
        Diag { sink: None, max: Level::Error }
    }

    pub fn emit(&self, level: Level, msg: &str) {
        log::log!(target: "raft_store", level, "{msg}");
        if level <= self.max {
            if let Some(sink) = &self.sink {
                sink(level, msg);
            }
        }
    }

    pub fn warn(&self, msg: &str) {
        self.emit(Level::Warn, msg)
    }

    pub fn info(&self, msg: &str) {
        self.emit(Level::Info, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn lines_up_to_the_chosen_level_reach_the_sink() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let d = Diag::new(Some(Box::new(move |l, m| g.lock().unwrap().push((l, m.to_string())))), Level::Info);
        d.warn("torn tail");
        d.emit(Level::Debug, "noise");
        assert_eq!(*got.lock().unwrap(), vec![(Level::Warn, "torn tail".to_string())]);
    }
}
