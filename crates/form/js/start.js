// Imported first by embed.js, so that the loader's "script starts" mark comes before any other of
// its code runs (the form module's glue included), as bench/baseline/start.js does for the baseline.
if (window.performance && performance.mark) performance.mark("handoff:script");
