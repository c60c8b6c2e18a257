//! Episode bookkeeping: running returns and lengths per environment, the windows of finished
//! episodes, and the summaries of a horizon's rewards.

/// Per-environment running episode return and length, and the most recent finished
/// episodes: a window of `window` episodes, kept apart for training and evaluation collects.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Episodes {
    returns: Vec<f64>,
    lengths: Vec<u64>,
    /// How many finished episodes each window holds.
    window: usize,
    /// Finished `(return, length)`, most recent last: `[training, evaluation]`.
    recent: [std::collections::VecDeque<(f64, u64)>; 2],
    /// The returns of the episodes finished since the last [`Episodes::take_finished`].
    finished: Vec<f64>,
    pub ever_finished: bool,
}

impl Episodes {
    pub fn new(num_envs: usize, window: usize) -> Self {
        Self {
            returns: vec![0.0; num_envs],
            lengths: vec![0; num_envs],
            window,
            recent: Default::default(),
            finished: Vec::new(),
            ever_finished: false,
        }
    }

    /// Drops the episodes in progress (the environments were reset by the schedule).
    pub fn reset(&mut self) {
        self.returns.fill(0.0);
        self.lengths.fill(0);
    }

    /// Adds one step; finished episodes go to the training (`eval == false`) or evaluation
    /// window.
    pub fn observe(&mut self, rewards: &[f32], done: &[bool], eval: bool) {
        let window = self.window;
        let recent = &mut self.recent[usize::from(eval)];
        for (i, (&r, &d)) in rewards.iter().zip(done).enumerate() {
            self.returns[i] += f64::from(r);
            self.lengths[i] += 1;
            if d {
                recent.push_back((self.returns[i], self.lengths[i]));
                if recent.len() > window {
                    recent.pop_front();
                }
                self.finished.push(self.returns[i]);
                self.ever_finished = true;
                self.returns[i] = 0.0;
                self.lengths[i] = 0;
            }
        }
    }

    /// The returns of the episodes finished since the last call, in the order they finished.
    pub fn take_finished(&mut self) -> Vec<f64> {
        std::mem::take(&mut self.finished)
    }

    /// Mean return and length over the window, if it holds any episode.
    pub fn means(&self, eval: bool) -> Option<(f64, f64)> {
        let recent = &self.recent[usize::from(eval)];
        let n = recent.len() as f64;
        (n > 0.0).then(|| {
            let ret = recent.iter().map(|e| e.0).sum::<f64>() / n;
            let len = recent.iter().map(|e| e.1 as f64).sum::<f64>() / n;
            (ret, len)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episodes_report_finished_returns_and_lengths() {
        let mut e = Episodes::new(2, 2);
        assert_eq!(e.means(false), None);
        e.observe(&[1.0, 2.0], &[false, false], false);
        e.observe(&[1.0, 2.0], &[true, false], false);
        e.observe(&[5.0, 2.0], &[false, true], false);
        // (2, 2) and (6, 3).
        assert_eq!(e.means(false), Some((4.0, 2.5)));
        assert_eq!(e.take_finished(), [2.0, 6.0]);
        e.reset();
        e.observe(&[1.0, 1.0], &[true, true], true);
        assert_eq!(e.means(true), Some((1.0, 1.0)));
        assert_eq!(
            e.means(false),
            Some((4.0, 2.5)),
            "evaluation has its own window"
        );
        e.observe(&[3.0, 0.0], &[true, false], false);
        // The window holds 2 episodes: (6, 3) and (3, 1).
        assert_eq!(e.means(false), Some((4.5, 2.0)));
        assert_eq!(e.take_finished(), [1.0, 1.0, 3.0]);
    }
}
