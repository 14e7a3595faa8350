// The monitoring dashboard: stages stacked per region, and the cases by risk type.
(function () {
  // Tooltips drawn on the chart's canvas: ECharts' HTML tooltips are markup with style=""
  // attributes, which the Content-Security-Policy refuses.
  const TOOLTIP_MODE = "richText";
  const data = JSON.parse(document.getElementById("monitoring-data").textContent);
  if (!window.echarts) return;
  const charts = [];
  const stage = document.getElementById("stage-chart");
  if (stage) {
    const chart = echarts.init(stage);
    chart.setOption({
      tooltip: { trigger: "axis", renderMode: TOOLTIP_MODE, axisPointer: { type: "shadow" } },
      // One line of legend whatever the language or width (it pages), clear of the bars.
      legend: { top: 0, type: "scroll" },
      grid: { left: 40, right: 10, top: 40, bottom: 60 },
      xAxis: { type: "category", data: data.regions, axisLabel: { interval: 0, rotate: data.regions.length > 6 ? 40 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: data.stages.map((s) => ({ name: s.name, type: "bar", stack: "stage", barMaxWidth: 48, data: s.values })),
    });
    charts.push(chart);
  }
  const risk = document.getElementById("risk-chart");
  if (risk) {
    const items = data.breakdown.risk_type.filter((item) => item.value > 0);
    const chart = echarts.init(risk);
    chart.setOption({
      title: { text: data.titles.risk_type, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", renderMode: TOOLTIP_MODE, axisPointer: { type: "shadow" } },
      grid: { left: 110, right: 20, top: 35, bottom: 20 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: items.map((item) => item.name) },
      series: [{ type: "bar", data: items.map((item) => item.value), label: { show: true, position: "right" } }],
    });
    charts.push(chart);
  }
  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
})();
