use burn::tensor::{Tensor, TensorData};
use std::time::Instant;
type B = burn::backend::NdArray;
fn main() {
    let d = Default::default();
    let v: Vec<f32> = (0..8192 * 33).map(|i| i as f32).collect();
    for _ in 0..3 {
        let s = Instant::now();
        let t = Tensor::<B, 2>::from_data(TensorData::new(v.clone(), [8192, 33]), &d);
        let up = s.elapsed();
        let s = Instant::now();
        let data = t.clone().into_data();
        let down = s.elapsed();
        let s = Instant::now();
        let x = data.convert::<f32>().into_vec::<f32>().unwrap();
        let conv = s.elapsed();
        let s = Instant::now();
        let y = (t.clone() + 1.0).into_data();
        let opdown = s.elapsed();
        println!(
            "up {up:?} down {down:?} convert {conv:?} op+down {opdown:?} {}",
            x.len() + y.num_elements()
        );
    }
}
