//! [`crate::gae`] on the device, as one kernel.
//!
//! A scan over time is sequential per trajectory and parallel across trajectories: one thread
//! per row walks its `T` steps backwards. Composed tensor operations would need `T` launches of
//! a few `[N]`-wide operations each, so this is a CubeCL kernel, built with the `wgpu` feature
//! for Burn's wgpu backend (with or without `fusion`, the latter with the `fusion` feature).
//! Other backends have no kernel and scan on the host, which is the fast path on a CPU.

use burn::tensor::backend::Backend;

use crate::{Trajectories, ValueEstimate};

/// Whether [`gae`](crate::gae) runs on the device for backend `B`, as one kernel launch that
/// reads nothing back: Burn's wgpu backend with `f32` floats, when this crate is built with
/// its `wgpu` feature (and, for wgpu with Burn's kernel fusion, its `fusion` feature). Other
/// backends read the inputs back and scan on the host.
///
/// ```
/// use burn::backend::NdArray;
///
/// assert!(!rl_functional::has_device_gae::<NdArray>());
/// ```
pub fn has_device_gae<B: Backend>() -> bool {
    kernel::supported::<B>()
}

/// The scan of [`crate::gae`] on the device, for valid inputs (shapes and ranges checked by
/// the caller); `None` when `B` has no kernel.
pub(crate) fn gae_on_device<B: Backend>(
    trajectories: &Trajectories<B>,
    gamma: f32,
    lambda: f32,
) -> Option<ValueEstimate<B>> {
    kernel::run(trajectories, gamma, lambda)
}

#[cfg(not(feature = "wgpu"))]
mod kernel {
    use super::*;

    // The same signature as the kernel's, which compares `B`'s primitive type.
    #[allow(clippy::extra_unused_type_parameters)]
    pub fn supported<B: Backend>() -> bool {
        false
    }

    pub fn run<B: Backend>(_: &Trajectories<B>, _: f32, _: f32) -> Option<ValueEstimate<B>> {
        None
    }
}

#[cfg(feature = "wgpu")]
mod kernel {
    use core::any::{Any, TypeId};

    use burn::tensor::backend::Backend;
    use burn::tensor::{DType, Tensor, TensorMetadata, TensorPrimitive};
    use burn_cubecl::tensor::CubeTensor;
    use cubecl::wgpu::WgpuRuntime;
    use cubecl::{CubeCount, CubeDim};

    use crate::{Trajectories, ValueEstimate};

    /// The CubeCL kernel, in a module of its own: CubeCL's prelude has a `Tensor` too.
    mod cube {
        use cubecl::prelude::*;

        /// Position `t` of row `row` of a `[N, T]` tensor, whatever its strides.
        #[cube]
        fn at(x: &Tensor<f32>, row: usize, t: usize) -> usize {
            row * x.stride(0) + t * x.stride(1)
        }

        /// The scan of `crate::gae`, one thread per row of the `[N, T]` inputs, in its order
        /// of operations. The flags are 0 or 1; the outputs are contiguous.
        #[cube(launch)]
        pub fn gae_kernel(
            rewards: &Tensor<f32>,
            values: &Tensor<f32>,
            next_values: &Tensor<f32>,
            done: &Tensor<f32>,
            terminated: &Tensor<f32>,
            advantages: &mut Tensor<f32>,
            targets: &mut Tensor<f32>,
            gamma: f32,
            gamma_lambda: f32,
        ) {
            let rows = advantages.shape(0);
            let steps = advantages.shape(1);
            let row = ABSOLUTE_POS;
            if row >= rows {
                terminate!();
            }
            let mut acc = 0.0f32;
            for k in 0..steps {
                let t = steps - 1 - k;
                let mut not_terminated = 1.0f32;
                if terminated[at(terminated, row, t)] != 0.0 {
                    not_terminated = 0.0;
                }
                let mut not_done = 1.0f32;
                if done[at(done, row, t)] != 0.0 {
                    not_done = 0.0;
                }
                let value = values[at(values, row, t)];
                let next = next_values[at(next_values, row, t)];
                let delta = (rewards[at(rewards, row, t)] + gamma * not_terminated * next) - value;
                acc = delta + acc * gamma_lambda * not_done;
                let out = row * steps + t;
                advantages[out] = acc;
                targets[out] = value + acc;
            }
        }
    }

    type Cube = CubeTensor<WgpuRuntime>;

    /// Threads per cube: rows are few (environments), so small cubes spread them further.
    const CUBE: usize = 64;

    /// Runs the kernel on cube tensors: rewards, values, next values, done, terminated.
    fn launch(inputs: [Cube; 5], gamma: f32, lambda: f32) -> [Cube; 2] {
        let [rewards, values, next_values, done, terminated] = inputs;
        let client = rewards.client.clone();
        let device = rewards.device.clone();
        let shape = rewards.shape();
        let n = shape.dims::<2>()[0];
        let empty = || {
            let handle = client.empty(shape.num_elements() * size_of::<f32>());
            Cube::new_contiguous(
                client.clone(),
                device.clone(),
                shape.clone(),
                handle,
                DType::F32,
            )
        };
        let (advantages, targets) = (empty(), empty());
        cube::gae_kernel::launch::<WgpuRuntime>(
            &client,
            CubeCount::Static(n.div_ceil(CUBE) as u32, 1, 1),
            CubeDim::new_1d(CUBE as u32),
            rewards.into_tensor_arg(),
            values.into_tensor_arg(),
            next_values.into_tensor_arg(),
            done.into_tensor_arg(),
            terminated.into_tensor_arg(),
            advantages.clone().into_tensor_arg(),
            targets.clone().into_tensor_arg(),
            gamma,
            gamma * lambda,
        );
        [advantages, targets]
    }

    fn is<B: Backend, T: 'static>() -> bool {
        TypeId::of::<B::FloatTensorPrimitive>() == TypeId::of::<T>()
    }

    /// `x` as a `T`, which it is: the caller compared the types.
    fn cast<A: 'static, T: 'static>(x: A) -> T {
        *(Box::new(x) as Box<dyn Any>)
            .downcast::<T>()
            .expect("the primitive's type was compared before")
    }

    /// The five inputs as `B`'s float primitives, which are `T`s; the flags as 0.0 / 1.0.
    fn inputs<B: Backend, T: 'static>(x: &Trajectories<B>) -> [T; 5] {
        [
            x.rewards.clone(),
            x.values.clone(),
            x.next_values.clone(),
            x.done.clone().float(),
            x.terminated.clone().float(),
        ]
        .map(|x| cast(x.into_primitive().tensor()))
    }

    fn outputs<B: Backend, T: 'static>([a, v]: [T; 2]) -> ValueEstimate<B> {
        let tensor = |x: T| Tensor::from_primitive(TensorPrimitive::Float(cast(x)));
        ValueEstimate {
            advantages: tensor(a),
            value_targets: tensor(v),
        }
    }

    pub fn supported<B: Backend>() -> bool {
        is::<B, Cube>() || fused::supported::<B>()
    }

    pub fn run<B: Backend>(
        x: &Trajectories<B>,
        gamma: f32,
        lambda: f32,
    ) -> Option<ValueEstimate<B>> {
        if x.rewards.dtype() != DType::F32 {
            return None;
        }
        if is::<B, Cube>() {
            return Some(outputs::<B, Cube>(launch(
                inputs::<B, Cube>(x),
                gamma,
                lambda,
            )));
        }
        if fused::supported::<B>() {
            let out = fused::run(inputs::<B, fused::Tensor>(x), gamma, lambda);
            return Some(outputs::<B, fused::Tensor>(out));
        }
        None
    }

    #[cfg(not(feature = "fusion"))]
    mod fused {
        use super::*;

        pub type Tensor = ();

        // The same signature as the fused kernel's, which compares `B`'s primitive type.
        #[allow(clippy::extra_unused_type_parameters)]
        pub fn supported<B: Backend>() -> bool {
            false
        }

        pub fn run(_: [Tensor; 5], _: f32, _: f32) -> [Tensor; 2] {
            unreachable!("fusion is not supported without the `fusion` feature")
        }
    }

    /// Burn's fused wgpu backend: the kernel is recorded as a custom operation of the fusion
    /// stream, which hands it materialized inputs when the stream runs.
    #[cfg(feature = "fusion")]
    mod fused {
        use burn_cubecl::CubeBackend;
        use burn_cubecl::fusion::FusionCubeRuntime;
        use burn_fusion::stream::{Operation, OperationStreams};
        use burn_fusion::{FusionRuntime, FusionTensor};
        use burn_ir::{CustomOpIr, HandleContainer, OperationIr, TensorIr};

        use super::*;

        type Runtime = FusionCubeRuntime<WgpuRuntime>;
        pub type Tensor = FusionTensor<Runtime>;
        type Inner = CubeBackend<WgpuRuntime, f32, i32, u32>;

        pub fn supported<B: Backend>() -> bool {
            is::<B, Tensor>()
        }

        #[derive(Debug, Clone)]
        struct Scan {
            desc: CustomOpIr,
            gamma: f32,
            lambda: f32,
        }

        impl Operation<Runtime> for Scan {
            fn execute(
                &self,
                handles: &mut HandleContainer<<Runtime as FusionRuntime>::FusionHandle>,
            ) {
                let (inputs, [advantages, targets]) = self.desc.as_fixed::<5, 2>();
                let inputs = inputs
                    .clone()
                    .map(|ir| handles.get_float_tensor::<Inner>(&ir));
                let [a, v] = launch(inputs, self.gamma, self.lambda);
                handles.register_float_tensor::<Inner>(&advantages.id, a);
                handles.register_float_tensor::<Inner>(&targets.id, v);
            }
        }

        pub fn run(inputs: [Tensor; 5], gamma: f32, lambda: f32) -> [Tensor; 2] {
            let client = inputs[0].client.clone();
            let shape = inputs[0].shape.clone();
            let streams = OperationStreams::with_inputs(&inputs);
            let out = || TensorIr::uninit(client.create_empty_handle(), shape.clone(), DType::F32);
            let outputs = [out(), out()];
            let inputs = inputs.map(|x| x.into_ir());
            let desc = CustomOpIr::new("rl_functional_gae", &inputs, &outputs);
            let scan = Scan {
                desc: desc.clone(),
                gamma,
                lambda,
            };
            client
                .register(streams, OperationIr::Custom(desc), scan)
                .try_into()
                .expect("two outputs were declared")
        }
    }
}
