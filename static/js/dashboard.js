// The deadline dashboard: one grouped bar per region, the share done at each level.
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const element = document.getElementById("progress-chart");
  if (!element || !window.echarts) return;
  const chart = echarts.init(element);
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: (v) => v + "%" },
    legend: { top: 0 },
    grid: { left: 40, right: 10, top: 40, bottom: 60 },
    xAxis: { type: "category", data: data.regions, axisLabel: { interval: 0, rotate: data.regions.length > 6 ? 40 : 0 } },
    yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    series: data.series.map((s) => ({ name: s.name, type: "bar", data: s.values })),
  });
  window.addEventListener("resize", () => chart.resize());
  document.querySelectorAll("[data-autosubmit]").forEach((select) =>
    select.addEventListener("change", () => select.form.submit()),
  );
})();
