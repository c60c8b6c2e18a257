//! The integration tests of the workspace, in one test binary (one link of the generic code
//! instead of one per file): the algorithms (`algorithm`, `recurrent`, `config`), the
//! environments (`envs_api`, `envs_memory`), the functional layer's properties (`properties`),
//! and end-to-end training (`pipeline`, `recall`, `train`).

use rl_examples::configs;

mod algorithm;
mod config;
mod envs_api;
mod envs_memory;
mod pipeline;
mod properties;
mod recall;
mod recurrent;
mod train;
