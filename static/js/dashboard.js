// The deadline dashboard: one grouped bar per region (the share done at each level),
// and a burn-down per level against the straight line to its deadline.
(function () {
  // Tooltips drawn on the chart's canvas: ECharts' HTML tooltips are markup with style=""
  // attributes, which the Content-Security-Policy refuses.
  const TOOLTIP_MODE = "richText";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const charts = [];
  const element = document.getElementById("progress-chart");
  if (!window.echarts) return;
  if (element) {
    const chart = echarts.init(element);
    chart.setOption({
      tooltip: { trigger: "axis", renderMode: TOOLTIP_MODE, valueFormatter: (v) => v + "%" },
      legend: { top: 0 },
      grid: { left: 40, right: 10, top: 40, bottom: 60 },
      xAxis: { type: "category", data: data.regions, axisLabel: { interval: 0, rotate: data.regions.length > 6 ? 40 : 0 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: data.series.map((s) => ({ name: s.name, type: "bar", barMaxWidth: 32, data: s.values })),
    });
    charts.push(chart);
  }
  (data.burndown || []).forEach((level, index) => {
    const box = document.getElementById("burndown-" + index);
    if (!box) return;
    const chart = echarts.init(box);
    chart.setOption({
      title: { text: level.name, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", renderMode: TOOLTIP_MODE },
      legend: { bottom: 0 },
      grid: { left: 45, right: 20, top: 35, bottom: 55 },
      xAxis: { type: "time", axisLabel: { hideOverlap: true, formatter: "{MM}-{dd}" } },
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
            lineStyle: { color: "#dc3545", type: "solid" },
            label: { formatter: data.words.deadline + " " + level.deadline, position: "insideEndTop" },
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
