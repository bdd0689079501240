//! The foreign agent's slow bookkeeping, off its data path: reverse
//! tunnel rules (an `ip rule` process each, [`ReverseRoutes`]) and the
//! visitor list file (written and synced twice, [`state::write`]). Done on
//! the driver's task they held every visitor's datagrams for milliseconds
//! at each registration, a node's handover included; a worker thread does
//! them in order instead.
//!
//! Jobs queued together form a batch: its rule changes are made in order,
//! only the newest visitor list is written (each write replaces the whole
//! file, so the older ones would be overwritten at once), then the
//! callbacks of the batch run. A callback queued after a change therefore
//! runs once that change is on the system and in the file: the driver
//! answers [`super::FaCommand::Visitors`] that way, so whoever reads the
//! list can also rely on the rules and the file.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use tracing::warn;

use super::routes::ReverseRoutes;
use super::state::{self, VisitorEntry};

/// A callback run after the jobs queued before it.
type Callback = Box<dyn FnOnce() + Send>;

enum Job {
    Rule { home: Ipv4Addr, on: bool },
    Write(Vec<VisitorEntry>),
    Then(Callback),
}

/// The worker thread and its queue.
#[derive(Debug)]
pub struct Bookkeeper {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<io::Result<()>>>,
    state_file: PathBuf,
}

impl Bookkeeper {
    /// Starts the worker with the rules (if reverse tunnelling is routed
    /// by the driver) and the file it maintains.
    pub fn spawn(routes: Option<ReverseRoutes>, state_file: PathBuf) -> io::Result<Bookkeeper> {
        let (tx, rx) = mpsc::channel();
        let file = state_file.clone();
        let thread = std::thread::Builder::new()
            .name("telsec-fa-books".into())
            .spawn(move || work(&rx, routes, &file))?;
        Ok(Bookkeeper {
            jobs: Some(tx),
            thread: Some(thread),
            state_file,
        })
    }

    fn queue(&self, job: Job) {
        if self.jobs.as_ref().is_none_or(|tx| tx.send(job).is_err()) {
            warn!("foreign agent bookkeeping stopped: change not recorded");
        }
    }

    /// Routes the datagrams of `home` into the TUN device (`on`) or not.
    pub fn rule(&self, home: Ipv4Addr, on: bool) {
        self.queue(Job::Rule { home, on });
    }

    /// Replaces the visitor list file with `entries`.
    pub fn write(&self, entries: Vec<VisitorEntry>) {
        self.queue(Job::Write(entries));
    }

    /// Runs `f` once everything queued so far is done.
    pub fn then(&self, f: impl FnOnce() + Send + 'static) {
        self.queue(Job::Then(Box::new(f)));
    }

    /// Finishes the queue, removes every rule and the route, and empties
    /// the file; the error is that of the last write.
    pub fn finish(mut self) -> Result<(), (PathBuf, io::Error)> {
        self.jobs = None;
        let joined = self.thread.take().map(JoinHandle::join);
        match joined {
            Some(Ok(r)) => r.map_err(|e| (self.state_file.clone(), e)),
            _ => Err((
                self.state_file.clone(),
                io::Error::other("bookkeeping thread panicked"),
            )),
        }
    }
}

fn work(
    rx: &mpsc::Receiver<Job>,
    mut routes: Option<ReverseRoutes>,
    file: &std::path::Path,
) -> io::Result<()> {
    while let Ok(first) = rx.recv() {
        let mut latest = None;
        let mut callbacks = Vec::new();
        for job in std::iter::once(first).chain(rx.try_iter()) {
            match job {
                Job::Rule { home, on } => {
                    let Some(r) = routes.as_mut() else { continue };
                    let done = if on { r.add(home) } else { r.remove(home) };
                    if let Err(e) = done {
                        warn!(error = %e, home = %home, "reverse tunnel rule");
                    }
                }
                Job::Write(entries) => latest = Some(entries),
                Job::Then(f) => callbacks.push(f),
            }
        }
        if let Some(entries) = latest
            && let Err(e) = state::write(file, &entries)
        {
            warn!(error = %e, path = %file.display(), "cannot write the visitor list");
        }
        for f in callbacks {
            f();
        }
    }
    // The driver stopped: nothing is routed for visitors any more.
    if let Some(r) = routes.as_mut() {
        r.clear();
    }
    state::write(file, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(last_octet: u8) -> VisitorEntry {
        VisitorEntry {
            home_address: Ipv4Addr::new(10, 77, 0, last_octet),
            home_agent: Ipv4Addr::new(10, 77, 0, 1),
            link_source: std::net::SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, last_octet), 4000),
            care_of_address: Ipv4Addr::new(198, 51, 100, 2),
            reverse_tunnel: true,
            tunnel: "ipip".into(),
            granted_lifetime: 300,
            expires_unix_ms: None,
            identification: "0000000000000001".into(),
        }
    }

    #[test]
    fn callbacks_see_the_writes_queued_before_them_and_finish_empties() {
        let dir = std::env::temp_dir().join(format!("telsec-fa-books-{}", std::process::id()));
        let file = dir.join("visitors.json");
        let books = Bookkeeper::spawn(None, file.clone()).expect("thread");
        // No routes configured: rule changes are no-ops.
        books.rule(Ipv4Addr::new(10, 77, 0, 5), true);
        books.write(vec![entry(5)]);
        books.write(vec![entry(5), entry(6)]);
        let (tx, rx) = mpsc::channel();
        let seen = file.clone();
        books.then(move || {
            let _ = tx.send(state::read(&seen).ok());
        });
        let listed = rx.recv().expect("callback ran").expect("readable");
        assert_eq!(listed, [entry(5), entry(6)]);
        books.finish().expect("final write");
        assert_eq!(state::read(&file).expect("readable"), []);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
