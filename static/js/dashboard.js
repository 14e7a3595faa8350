// The deadline dashboard: one grouped bar per region (the share done at each level),
// and a burn-down per level against the straight line to its deadline.
(function () {
  // Tooltips drawn on the chart's canvas: ECharts' HTML tooltips are markup with style=""
  // attributes, which the Content-Security-Policy refuses.
  const TOOLTIP_MODE = "richText";
  const DAY_MS = 86400000;

  // A time axis over exactly the days given (ISO dates), labelled for their span: month
  // and day within one year, the year too when the days cross a new year, year and
  // month over more than about a year. Labels that would overlap are dropped.
  function dayAxis(days) {
    const times = days.map((day) => Date.parse(day)).filter(Number.isFinite);
    const min = Math.min(...times);
    const max = Math.max(...times);
    const years = new Set(days.map((day) => day.slice(0, 4)));
    let formatter = "{MM}-{dd}";
    if (max - min > 400 * DAY_MS) formatter = "{yyyy}-{MM}";
    else if (years.size > 1) formatter = "{yyyy}-{MM}-{dd}";
    return {
      type: "time",
      min: min,
      max: max === min ? max + DAY_MS : max,
      axisLabel: { hideOverlap: true, formatter: formatter },
    };
  }
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const charts = [];
  const element = document.getElementById("progress-chart");
  if (!window.echarts) return;
  if (element) {
    const chart = echarts.init(element);
    chart.setOption({
      tooltip: { trigger: "axis", renderMode: TOOLTIP_MODE, valueFormatter: (v) => v + "%" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 40, right: 10, top: 40, bottom: 60 },
      xAxis: { type: "category", data: data.regions, axisLabel: { interval: 0, rotate: data.regions.length > 6 ? 40 : 0 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: data.series.map((s) => ({ name: s.name, type: "bar", barMaxWidth: 32, data: s.values })),
    });
    charts.push(chart);
  }
  // One axis for the four levels: the same days side by side, the same labels.
  const burndownDays = (data.burndown || []).flatMap((level) =>
    [...level.remaining, ...level.ideal].map((point) => point[0]).concat([level.deadline]),
  );
  (data.burndown || []).forEach((level, index) => {
    const box = document.getElementById("burndown-" + index);
    if (!box) return;
    const chart = echarts.init(box);
    chart.setOption({
      // The deadline is said under the title, clear of the lines and the axis numbers.
      title: {
        text: level.name,
        subtext: data.words.deadline + " " + level.deadline,
        left: "center",
        itemGap: 4,
        textStyle: { fontSize: 14 },
        subtextStyle: { color: "#dc3545" },
      },
      tooltip: { trigger: "axis", renderMode: TOOLTIP_MODE },
      legend: { bottom: 0 },
      grid: { left: 45, right: 20, top: 58, bottom: 55 },
      xAxis: dayAxis(burndownDays),
      yAxis: { type: "value", minInterval: 1 },
      series: [
        {
          name: data.words.remaining,
          type: "line",
          step: "end",
          symbolSize: 4,
          data: level.remaining,
          markLine: {
            symbol: "none",
            silent: true,
            lineStyle: { color: "#dc3545", type: "solid" },
            label: { show: false },
            data: [{ xAxis: level.deadline }],
          },
        },
        { name: data.words.ideal, type: "line", symbol: "none", lineStyle: { type: "dashed" }, data: level.ideal },
      ],
    });
    charts.push(chart);
  });
  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
})();
