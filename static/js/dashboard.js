/* Dashboard charts (Chart.js, vendored in static/vendor/chartjs). Every chart has a table beside it;
   series differ by pattern, dash and point style as well as colour, and a click on a bar or point opens
   the queue with the matching filters. */
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || typeof Chart === "undefined") return;
  var data = JSON.parse(node.textContent);

  var INK = "#1d2430";
  var COLOURS = ["#15803d", "#b45309", "#b91c1c", "#1d6fe0"];

  // A small tile repeated over a bar: the shape, not only the colour, tells the series apart.
  function pattern(kind, colour) {
    var size = 10;
    var tile = document.createElement("canvas");
    tile.width = size;
    tile.height = size;
    var ctx = tile.getContext("2d");
    ctx.fillStyle = colour;
    ctx.globalAlpha = kind === "solid" ? 0.85 : 0.3;
    ctx.fillRect(0, 0, size, size);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    if (kind === "stripes") {
      ctx.beginPath();
      ctx.moveTo(0, size);
      ctx.lineTo(size, 0);
      ctx.stroke();
    } else if (kind === "cross") {
      ctx.beginPath();
      ctx.moveTo(0, 0);
      ctx.lineTo(size, size);
      ctx.moveTo(size, 0);
      ctx.lineTo(0, size);
      ctx.stroke();
    } else if (kind === "dots") {
      ctx.beginPath();
      ctx.arc(size / 2, size / 2, 2, 0, 2 * Math.PI);
      ctx.fill();
    }
    return tile.getContext("2d").createPattern(tile, "repeat");
  }
  var KINDS = ["solid", "stripes", "cross", "dots"];

  function follow(links) {
    return function (event, elements) {
      if (!elements.length) return;
      var el = elements[0];
      var link = Array.isArray(links[0]) ? links[el.datasetIndex][el.index] : links[el.index];
      if (link) window.location.href = link;
    };
  }

  function make(id, config, links) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign(
      {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        onClick: follow(links),
        plugins: { legend: { labels: { usePointStyle: true, color: INK } } },
      },
      config.options || {}
    );
    new Chart(canvas, config);
  }

  var t = data.trend;
  var lineStyles = [
    { label: "Median", values: t.median, dash: [], point: "circle", colour: "#1d6fe0" },
    { label: "p90", values: t.p90, dash: [6, 4], point: "triangle", colour: "#b91c1c" },
    { label: "Mean", values: t.mean, dash: [2, 3], point: "rect", colour: "#5b6678" },
  ];
  make("chart-trend", {
    type: "line",
    data: {
      labels: t.labels,
      datasets: lineStyles.map(function (s) {
        return {
          label: s.label, data: s.values, borderColor: s.colour, backgroundColor: s.colour,
          borderDash: s.dash, pointStyle: s.point, pointRadius: 4, spanGaps: true,
        };
      }),
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: "minutes" } } } },
  }, t.links);

  var c = data.compliance;
  make("chart-compliance", {
    type: "bar",
    data: {
      labels: c.labels,
      datasets: c.series.map(function (s, i) {
        return {
          label: s.label, data: s.data, backgroundColor: pattern(KINDS[i], COLOURS[i]),
          borderColor: COLOURS[i], borderWidth: 1,
        };
      }),
    },
    options: {
      indexAxis: "y",
      scales: { x: { stacked: true, max: 100, title: { display: true, text: "% of clocks" } }, y: { stacked: true } },
      plugins: {
        legend: { labels: { color: INK } },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var s = c.series[ctx.datasetIndex];
              return s.label + ": " + s.counts[ctx.dataIndex] + " (" + ctx.parsed.x + "%)";
            },
          },
        },
      },
    },
  }, c.links);

  var v = data.volume;
  make("chart-volume", {
    type: "bar",
    data: {
      labels: v.labels,
      datasets: [
        { label: "Posts", data: v.posts, backgroundColor: pattern("solid", "#1d6fe0"), borderColor: "#1d6fe0", borderWidth: 1 },
        { label: "DMs", data: v.dms, backgroundColor: pattern("stripes", "#b45309"), borderColor: "#b45309", borderWidth: 1 },
      ],
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } }, plugins: { legend: { labels: { color: INK } } } },
  }, v.links);

  var b = data.backlog;
  make("chart-backlog", {
    type: "line",
    data: {
      labels: b.labels,
      datasets: [{ label: "Open mentions", data: b.open, borderColor: "#b91c1c", backgroundColor: "#b91c1c", pointStyle: "circle", pointRadius: 4 }],
    },
    options: { scales: { y: { beginAtZero: true } } },
  }, b.links);

  function bars(id, series) {
    make(id, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [{
          label: "Count", data: series.data,
          backgroundColor: series.labels.map(function (_, i) { return pattern(KINDS[i % 4], COLOURS[i % 4]); }),
          borderColor: series.labels.map(function (_, i) { return COLOURS[i % 4]; }), borderWidth: 1,
        }],
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
    }, series.links);
  }
  bars("chart-channels", data.channels);
  bars("chart-sentiment", data.sentiment);
})();
