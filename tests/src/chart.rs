//! Line charts as standalone SVG, for the benchmarks' scaling curves in docs/.

/// One line of a chart.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub dashed: bool,
    /// (x, y) points, in the order the line joins them.
    pub points: Vec<(f64, f64)>,
}

/// A line chart of `series` with axes from 0, the x values of the first series labelled.
pub fn line_svg(title: &str, x_label: &str, y_label: &str, series: &[Series<'_>]) -> String {
    let (width, height, margin) = (560.0, 320.0, 56.0);
    let all = || series.iter().flat_map(|line| line.points.iter());
    let x_max = all()
        .map(|p| p.0)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.05;
    let y_max = all()
        .map(|p| p.1)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.1;
    let x = |value: f64| margin + value / x_max * (width - 2.0 * margin);
    let y = |value: f64| height - margin - value / y_max * (height - 2.0 * margin);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{margin}\" y=\"24\" font-size=\"14\">{title}</text>\n\
         <line x1=\"{margin}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>\n\
         <line x1=\"{margin}\" y1=\"{margin}\" x2=\"{margin}\" y2=\"{b}\" stroke=\"black\"/>\n\
         <text x=\"{cx}\" y=\"{lx}\" text-anchor=\"middle\">{x_label}</text>\n\
         <text x=\"14\" y=\"{cy}\" transform=\"rotate(-90 14 {cy})\" text-anchor=\"middle\">{y_label}</text>\n",
        b = height - margin,
        r = width - margin,
        cx = width / 2.0,
        lx = height - 16.0,
        cy = height / 2.0,
    );
    for i in 0..=4 {
        let value = y_max * f64::from(i) / 4.0;
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            margin - 6.0,
            y(value) + 4.0,
            tick(value)
        ));
    }
    if let Some(first) = series.first() {
        for p in &first.points {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                x(p.0),
                height - margin + 16.0,
                p.0
            ));
        }
    }
    for (index, line) in series.iter().enumerate() {
        let path: String = line
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "{}{:.1},{:.1}",
                    if i == 0 { "M" } else { " L" },
                    x(p.0),
                    y(p.1)
                )
            })
            .collect();
        let dash = if line.dashed {
            " stroke-dasharray=\"5 4\""
        } else {
            ""
        };
        out.push_str(&format!(
            "<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>\n",
            color = line.color
        ));
        if !line.dashed {
            for p in &line.points {
                out.push_str(&format!(
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>\n",
                    x(p.0),
                    y(p.1),
                    line.color
                ));
            }
        }
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>\n",
            width - margin - 150.0,
            margin + 4.0 + 16.0 * index as f64,
            line.color,
            line.label
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// An axis value, with as many decimals as its size needs.
fn tick(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}
