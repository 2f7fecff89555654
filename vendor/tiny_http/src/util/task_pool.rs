use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// Manages a collection of threads.
///
/// A new thread is created every time all the existing threads are full.
/// Any idle thread will automatically die after a few seconds.
pub struct TaskPool {
    sharing: Arc<Sharing>,
}

struct Sharing {
    // list of the tasks to be done by worker threads
    todo: Mutex<VecDeque<Box<dyn FnMut() + Send>>>,

    // condvar that will be notified whenever a task is added to `todo`
    condvar: Condvar,

    // number of total worker threads running
    active_tasks: AtomicUsize,

    // number of idle worker threads
    waiting_tasks: AtomicUsize,
}

/// Minimum number of active threads.
static MIN_THREADS: usize = 4;

/// msm patch: stack of a connection thread: it reads and checks heads and bodies into heap
/// buffers and never recurses (upstream: the 2 MiB default).
const CONNECTION_STACK: usize = 256 * 1024;

struct Registration<'a> {
    nb: &'a AtomicUsize,
}

impl<'a> Registration<'a> {
    fn new(nb: &'a AtomicUsize) -> Registration<'a> {
        nb.fetch_add(1, Ordering::Release);
        Registration { nb }
    }
}

impl<'a> Drop for Registration<'a> {
    fn drop(&mut self) {
        self.nb.fetch_sub(1, Ordering::Release);
    }
}

impl TaskPool {
    pub fn new() -> TaskPool {
        let pool = TaskPool {
            sharing: Arc::new(Sharing {
                todo: Mutex::new(VecDeque::new()),
                condvar: Condvar::new(),
                active_tasks: AtomicUsize::new(0),
                waiting_tasks: AtomicUsize::new(0),
            }),
        };

        for _ in 0..MIN_THREADS {
            let _ = pool.add_thread(None);
        }

        pool
    }

    /// Executes a function in a thread.
    /// If no thread is available, spawns a new one.
    ///
    /// msm patch: an error (and `code` dropped) when no thread can be started, where
    /// upstream panicked.
    pub fn spawn(&self, code: Box<dyn FnMut() + Send>) -> std::io::Result<()> {
        let mut queue = match self.sharing.todo.lock() {
            Ok(q) => q,
            Err(p) => p.into_inner(),
        };

        // msm patch: a thread woken for a queued task counts as waiting until it takes the
        // task, so idle threads are those waiting beyond the tasks already queued for them.
        // Upstream compared with zero: two connections in quick succession both went to one
        // idle thread, and the second waited until the first connection ended.
        if self.sharing.waiting_tasks.load(Ordering::Acquire) <= queue.len() {
            drop(queue);
            self.add_thread(Some(code))
        } else {
            queue.push_back(code);
            self.sharing.condvar.notify_one();
            Ok(())
        }
    }

    fn add_thread(&self, initial_fn: Option<Box<dyn FnMut() + Send>>) -> std::io::Result<()> {
        let sharing = self.sharing.clone();

        let builder = thread::Builder::new()
            .name("http-conn".into())
            .stack_size(CONNECTION_STACK);
        builder.spawn(move || {
            let sharing = sharing;
            let _active_guard = Registration::new(&sharing.active_tasks);

            if let Some(mut f) = initial_fn {
                f();
            }

            loop {
                let mut task: Box<dyn FnMut() + Send> = {
                    let mut todo = sharing.todo.lock().unwrap();

                    let task;
                    loop {
                        if let Some(poped_task) = todo.pop_front() {
                            task = poped_task;
                            break;
                        }
                        let _waiting_guard = Registration::new(&sharing.waiting_tasks);

                        let received =
                            if sharing.active_tasks.load(Ordering::Acquire) <= MIN_THREADS {
                                todo = sharing.condvar.wait(todo).unwrap();
                                true
                            } else {
                                let (new_lock, waitres) = sharing
                                    .condvar
                                    .wait_timeout(todo, Duration::from_millis(5000))
                                    .unwrap();
                                todo = new_lock;
                                !waitres.timed_out()
                            };

                        if !received && todo.is_empty() {
                            return;
                        }
                    }

                    task
                };

                task();
            }
        })?;
        Ok(())
    }
}

impl Drop for TaskPool {
    fn drop(&mut self) {
        self.sharing
            .active_tasks
            .store(999_999_999, Ordering::Release);
        self.sharing.condvar.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::TaskPool;
    use std::sync::mpsc;
    use std::time::Duration;

    /// msm patch: tasks spawned at once each get a thread, however many threads were idle.
    #[test]
    fn tasks_spawned_at_once_run_at_once() {
        let pool = TaskPool::new();
        // let the first threads settle into waiting
        std::thread::sleep(Duration::from_millis(100));
        for round in 0..3 {
            let (started, seen) = mpsc::channel();
            let (release, hold) = mpsc::channel::<()>();
            let hold = std::sync::Arc::new(std::sync::Mutex::new(hold));
            for _ in 0..12 {
                let (started, hold) = (started.clone(), hold.clone());
                pool.spawn(Box::new(move || {
                    let _ = started.send(());
                    // each task holds its thread until the test lets go (a long connection)
                    let _ = hold.lock().unwrap().recv_timeout(Duration::from_secs(5));
                }))
                .unwrap();
            }
            for i in 0..12 {
                assert!(
                    seen.recv_timeout(Duration::from_secs(2)).is_ok(),
                    "round {}: task {} waited behind a busy thread",
                    round,
                    i
                );
            }
            drop(release);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
