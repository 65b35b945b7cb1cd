//! The scenario 3 chart: convergence time against number of clients, one
//! line per daemon, drawn by the harness itself into a PNG.
//!
//! Data flow: [`draw`] takes each daemon's (clients, median wall seconds)
//! points, maps them onto a canvas (both axes logarithmic: the client
//! counts go from 25 to 1000 and the daemons differ by orders of
//! magnitude), draws the grid, tick labels and axis titles (a 3×5 pixel
//! font of digits and the capitals the labels use), one coloured polyline
//! per daemon and a legend naming them, and [`encode_png`] hands the
//! canvas to the `png` crate.

use std::collections::BTreeMap;

/// Canvas size in pixels.
const WIDTH: usize = 880;
const HEIGHT: usize = 460;
/// Plot area margins; the legend is in the right one.
const LEFT: usize = 90;
const RIGHT: usize = 190;
const TOP: usize = 56;
const BOTTOM: usize = 70;

/// Line colour of each daemon, as named in RESULTS.md.
pub fn colour(daemon: &str) -> [u8; 3] {
    match daemon {
        "podroute" => [214, 39, 40],
        "bird" => [31, 119, 180],
        "frr" => [44, 160, 44],
        "gobgp" => [255, 127, 14],
        "bird1" => [148, 103, 189],
        _ => [100, 100, 100],
    }
}

struct Canvas {
    pixels: Vec<u8>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            pixels: vec![255; WIDTH * HEIGHT * 3],
        }
    }

    fn set(&mut self, x: i64, y: i64, rgb: [u8; 3]) {
        let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y)) else {
            return;
        };
        if x >= WIDTH || y >= HEIGHT {
            return;
        }
        let start = (y * WIDTH + x) * 3;
        if let Some(pixel) = self.pixels.get_mut(start..start + 3) {
            pixel.copy_from_slice(&rgb);
        }
    }

    fn rectangle(&mut self, x: i64, y: i64, width: i64, height: i64, rgb: [u8; 3]) {
        for dy in 0..height {
            for dx in 0..width {
                self.set(x + dx, y + dy, rgb);
            }
        }
    }

    /// A line `thickness` pixels wide, stepped one pixel at a time.
    fn line(&mut self, from: (f64, f64), to: (f64, f64), thickness: i64, rgb: [u8; 3]) {
        let steps = (to.0 - from.0)
            .abs()
            .max((to.1 - from.1).abs())
            .ceil()
            .max(1.0);
        let steps_count = steps as i64;
        for step in 0..=steps_count {
            let t = step as f64 / steps;
            let x = (from.0 + (to.0 - from.0) * t).round() as i64;
            let y = (from.1 + (to.1 - from.1) * t).round() as i64;
            let half = thickness / 2;
            self.rectangle(x - half, y - half, thickness, thickness, rgb);
        }
    }

    /// Text in a 3×5 font (digits, `.` and the capitals of [`glyph`];
    /// lower case is drawn as capitals), scaled by `scale`, left edge at `x`.
    fn text(&mut self, text: &str, x: i64, y: i64, scale: i64) {
        let mut cursor = x;
        for character in text.chars() {
            let rows = glyph(character.to_ascii_uppercase());
            for (row, bits) in rows.iter().enumerate() {
                for column in 0..3 {
                    if bits & (0b100 >> column) != 0 {
                        self.rectangle(
                            cursor + column * scale,
                            y + row as i64 * scale,
                            scale,
                            scale,
                            [0, 0, 0],
                        );
                    }
                }
            }
            cursor += 4 * scale;
        }
    }
}

fn glyph(character: char) -> [u8; 5] {
    match character {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '.' => [0, 0, 0, 0, 0b010],
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'B' => [0b110, 0b101, 0b110, 0b101, 0b110],
        'C' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'D' => [0b110, 0b101, 0b101, 0b101, 0b110],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'F' => [0b111, 0b100, 0b110, 0b100, 0b100],
        'G' => [0b011, 0b100, 0b101, 0b101, 0b011],
        'H' => [0b101, 0b101, 0b111, 0b101, 0b101],
        'I' => [0b111, 0b010, 0b010, 0b010, 0b111],
        'L' => [0b100, 0b100, 0b100, 0b100, 0b111],
        'N' => [0b101, 0b111, 0b111, 0b101, 0b101],
        'O' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'P' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'R' => [0b110, 0b101, 0b110, 0b101, 0b101],
        'S' => [0b011, 0b100, 0b010, 0b001, 0b110],
        'T' => [0b111, 0b010, 0b010, 0b010, 0b010],
        'U' => [0b101, 0b101, 0b101, 0b101, 0b111],
        'V' => [0b101, 0b101, 0b101, 0b101, 0b010],
        'Y' => [0b101, 0b101, 0b010, 0b010, 0b010],
        ':' => [0, 0b010, 0, 0b010, 0],
        ',' => [0, 0, 0, 0b010, 0b100],
        _ => [0; 5],
    }
}

/// Draws the chart: `lines` maps a daemon to its (clients, seconds) points.
pub fn draw(lines: &BTreeMap<String, Vec<(u32, f64)>>) -> Vec<u8> {
    let mut canvas = Canvas::new();
    let counts = lines
        .values()
        .flatten()
        .map(|(clients, _)| f64::from(*clients).max(1.0));
    // A little room on both sides of the first and last count.
    let left_log = counts.clone().fold(f64::MAX, f64::min).min(100.0).log10() - 0.08;
    let right_log = counts.fold(1.0, f64::max).max(10.0).log10() + 0.08;
    let seconds = lines
        .values()
        .flatten()
        .map(|(_, seconds)| seconds.max(1e-3));
    let low = seconds
        .clone()
        .fold(f64::MAX, f64::min)
        .log10()
        .floor()
        .min(-2.0);
    let high = seconds.fold(0.0, f64::max).log10().ceil().max(low + 1.0);
    let plot_width = (WIDTH - LEFT - RIGHT) as f64;
    let plot_height = (HEIGHT - TOP - BOTTOM) as f64;
    let x_of = |clients: u32| {
        LEFT as f64
            + plot_width * (f64::from(clients).max(1.0).log10() - left_log) / (right_log - left_log)
    };
    let y_of = |seconds: f64| {
        TOP as f64 + plot_height * (1.0 - (seconds.max(1e-3).log10() - low) / (high - low))
    };
    // Decade grid lines with labels: 0.01, 0.1, 1, 10 ... seconds.
    let mut decade = low;
    while decade <= high {
        let y = y_of(10f64.powf(decade));
        canvas.line(
            (LEFT as f64, y),
            ((WIDTH - RIGHT) as f64, y),
            1,
            [210, 210, 210],
        );
        let label = format_decade(decade);
        let width = 8 * label.len() as i64;
        canvas.text(&label, LEFT as i64 - 12 - width, y as i64 - 5, 2);
        decade += 1.0;
    }
    // Client ticks at every measured count.
    let mut counts: Vec<u32> = lines.values().flatten().map(|(c, _)| *c).collect();
    counts.sort_unstable();
    counts.dedup();
    for clients in &counts {
        let x = x_of(*clients);
        canvas.line(
            (x, TOP as f64),
            (x, (HEIGHT - BOTTOM) as f64),
            1,
            [230, 230, 230],
        );
        let label = clients.to_string();
        canvas.text(
            &label,
            x as i64 - 4 * label.len() as i64,
            (HEIGHT - BOTTOM + 12) as i64,
            2,
        );
    }
    let axes = [0, 0, 0];
    let bottom = (HEIGHT - BOTTOM) as f64;
    canvas.line((LEFT as f64, TOP as f64), (LEFT as f64, bottom), 2, axes);
    canvas.line(
        (LEFT as f64, bottom),
        ((WIDTH - RIGHT) as f64, bottom),
        2,
        axes,
    );
    // Axis titles and the legend, one entry per daemon in name order.
    let title = "SCENARIO 3, ROUTE REFLECTION: SECONDS UNTIL EVERY CLIENT HOLDS EVERY ROUTE";
    canvas.text(title, LEFT as i64, 8, 2);
    canvas.text(
        "CLIENTS",
        (LEFT as f64 + plot_width / 2.0) as i64 - 28,
        (HEIGHT - 22) as i64,
        2,
    );
    canvas.text("SECONDS", 8, TOP as i64 - 26, 2);
    let legend_x = (WIDTH - RIGHT + 24) as i64;
    for (index, daemon) in lines.keys().enumerate() {
        let y = TOP as i64 + 20 + 28 * index as i64;
        let rgb = colour(daemon);
        canvas.line(
            (legend_x as f64, y as f64),
            (legend_x as f64 + 28.0, y as f64),
            3,
            rgb,
        );
        canvas.rectangle(legend_x + 10, y - 4, 9, 9, rgb);
        canvas.text(daemon, legend_x + 40, y - 5, 2);
    }
    for (daemon, points) in lines {
        let rgb = colour(daemon);
        let mut sorted = points.clone();
        sorted.sort_by_key(|(clients, _)| *clients);
        let mapped: Vec<(f64, f64)> = sorted
            .iter()
            .map(|(clients, seconds)| (x_of(*clients), y_of(*seconds)))
            .collect();
        for pair in mapped.windows(2) {
            if let [from, to] = pair {
                canvas.line(*from, *to, 3, rgb);
            }
        }
        for (x, y) in &mapped {
            canvas.rectangle(*x as i64 - 4, *y as i64 - 4, 9, 9, rgb);
        }
    }
    encode_png(&canvas.pixels, WIDTH, HEIGHT)
}

fn format_decade(decade: f64) -> String {
    let value = 10f64.powf(decade);
    if decade < 0.0 {
        format!("{value:.prec$}", prec = (-decade) as usize)
    } else {
        format!("{value:.0}")
    }
}

/// An 8-bit RGB PNG of `pixels` (row-major, 3 bytes per pixel), or
/// nothing if the encoder refuses it (a canvas of the wrong size).
pub fn encode_png(pixels: &[u8], width: usize, height: usize) -> Vec<u8> {
    let mut png = Vec::new();
    let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
        return png;
    };
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let written = encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(pixels));
    if written.is_err() {
        png.clear();
    }
    png
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_a_png_of_the_canvas_size() {
        let mut lines = BTreeMap::new();
        lines.insert("podroute".to_string(), vec![(25, 0.02), (100, 0.1)]);
        lines.insert("frr".to_string(), vec![(25, 2.3), (100, 6.1)]);
        let png = draw(&lines);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(
            u32::from_be_bytes(png[16..20].try_into().unwrap()),
            WIDTH as u32
        );
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        // podroute's colour is on the canvas: its line and legend were drawn.
        let red = colour("podroute");
        assert!(pixels.chunks(3).any(|pixel| pixel == red));
    }
}
