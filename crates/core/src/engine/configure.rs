//! The settings in force: read on open, reloaded when the file changes (accounts and jobs gain
//! or lose their slots and tasks), edited in one serialized read-change-write.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::error::EngineError;
use super::handle::Engine;
use super::slot::Slot;
use crate::events::Event;
use crate::jobs::{JobSlot, JobSpec};
use crate::schedule::Jitter;
use crate::settings::Settings;
use crate::sync::lock;

impl Engine {
    /// The settings this engine runs with.
    pub fn settings(&self) -> Arc<Settings> {
        self.inner
            .settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Re-reads the settings file: new accounts get a schedule, removed ones lose theirs. A
    /// broken file is reported and the old settings stay in force.
    pub fn reload(&self) -> Result<(), EngineError> {
        let settings = Arc::new(Settings::load(&self.inner.paths.settings_file())?);
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = settings.clone();
        let mut jitter = Jitter::from_entropy();
        {
            let mut slots = lock(&self.inner.slots);
            slots.retain(|name, slot| {
                let keep = settings.account(name).is_some();
                if !keep {
                    // Its scheduler task sees the slot gone and ends.
                    slot.wake.notify_one();
                }
                keep
            });
            for a in &settings.accounts {
                slots
                    .entry(a.name.clone())
                    .or_insert_with(|| Arc::new(Slot::new(jitter.sample())));
            }
        }
        {
            let mut jobs = lock(&self.inner.jobs);
            jobs.retain(|name, slot| {
                let keep = settings
                    .jobs
                    .iter()
                    .any(|j| &j.name == name && JobSpec::from_settings(j) == slot.spec);
                if !keep {
                    slot.wake.notify_one();
                }
                keep
            });
            for j in &settings.jobs {
                jobs.entry(j.name.clone()).or_insert_with(|| {
                    Arc::new(JobSlot::new(JobSpec::from_settings(j), jitter.sample()))
                });
            }
        }
        if self.inner.scheduler_started.load(Ordering::SeqCst) {
            self.start_scheduler();
        }
        self.publish(Event::SettingsChanged);
        Ok(())
    }

    /// Changes the settings file: reads it fresh (it may have been edited by hand), applies
    /// `change` (which may refuse with a sentence), checks the result, writes it atomically and
    /// reloads. A broken file is never overwritten: loading it fails first.
    pub fn edit_settings(
        &self,
        change: impl FnOnce(&mut Settings) -> Result<(), String>,
    ) -> Result<(), EngineError> {
        // Two edits at once (the GUI runs commands concurrently) must not lose one.
        let _editing = lock(&self.inner.settings_edit);
        let path = self.inner.paths.settings_file();
        let mut settings = Settings::load(&path)?;
        change(&mut settings).map_err(EngineError::Invalid)?;
        settings.check().map_err(EngineError::Invalid)?;
        settings.save(&path)?;
        self.reload()
    }
}
