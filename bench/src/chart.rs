//! The scenario 3 chart: convergence time against number of clients, one
//! line per daemon, drawn by the harness itself into a PNG with no plotting
//! dependency.
//!
//! Data flow: [`draw`] takes each daemon's (clients, median wall seconds)
//! points, maps them onto a canvas (linear client axis, logarithmic time
//! axis, since the daemons differ by orders of magnitude), draws grid,
//! tick labels (a 3×5 digit font) and one coloured polyline per daemon, and
//! [`encode_png`] writes the canvas as an RGB PNG (RFC 2083) whose zlib
//! stream (RFC 1950) uses stored deflate blocks (RFC 1951 §3.2.4).

use std::collections::BTreeMap;

/// Canvas size in pixels.
const WIDTH: usize = 720;
const HEIGHT: usize = 420;
/// Plot area margins.
const LEFT: usize = 70;
const RIGHT: usize = 30;
const TOP: usize = 20;
const BOTTOM: usize = 50;

/// Line colour of each daemon, as named in RESULTS.md.
pub fn colour(daemon: &str) -> [u8; 3] {
    match daemon {
        "podroute" => [214, 39, 40],
        "bird" => [31, 119, 180],
        "frr" => [44, 160, 44],
        "gobgp" => [255, 127, 14],
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

    /// Digits and `.` in a 3×5 font, scaled by `scale`, left edge at `x`.
    fn text(&mut self, text: &str, x: i64, y: i64, scale: i64) {
        let mut cursor = x;
        for character in text.chars() {
            let rows = glyph(character);
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
        _ => [0; 5],
    }
}

/// Draws the chart: `lines` maps a daemon to its (clients, seconds) points.
pub fn draw(lines: &BTreeMap<String, Vec<(u32, f64)>>) -> Vec<u8> {
    let mut canvas = Canvas::new();
    let max_clients = lines
        .values()
        .flatten()
        .map(|(clients, _)| *clients)
        .max()
        .unwrap_or(100)
        .max(1);
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
    let x_of =
        |clients: u32| LEFT as f64 + plot_width * f64::from(clients) / f64::from(max_clients);
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
        canvas.text(&label, 8, y as i64 - 5, 2);
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

/// An 8-bit RGB PNG of `pixels` (row-major, 3 bytes per pixel).
pub fn encode_png(pixels: &[u8], width: usize, height: usize) -> Vec<u8> {
    let mut raw = Vec::with_capacity(pixels.len() + height);
    for row in pixels.chunks(width * 3).take(height) {
        raw.push(0); // filter type None
        raw.extend_from_slice(row);
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (index, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(index + 1 == blocks.len()));
        let length = u16::try_from(block.len()).unwrap_or(u16::MAX);
        zlib.extend_from_slice(&length.to_le_bytes());
        zlib.extend_from_slice(&(!length).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&u32::try_from(width).unwrap_or(0).to_be_bytes());
    header.extend_from_slice(&u32::try_from(height).unwrap_or(0).to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    for (kind, data) in [
        (b"IHDR", header.as_slice()),
        (b"IDAT", &zlib),
        (b"IEND", &[]),
    ] {
        png.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        let mut checked = kind.to_vec();
        checked.extend_from_slice(data);
        png.extend_from_slice(&checked);
        png.extend_from_slice(&crc32(&checked).to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in bytes {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

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
    }
}
