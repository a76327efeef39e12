// Heat-map opacity acts in the browser alone: the slider sets a CSS variable on the results, and
// every overlay image reads it. No server round trip per move.
document.addEventListener('input', event => {
    const slider = event.target;
    if (!(slider instanceof HTMLInputElement) || !slider.dataset.heatOpacity) return;
    const scope = document.querySelector(slider.dataset.heatOpacity) ?? document.documentElement;
    scope.style.setProperty('--heat-opacity', slider.value);
    const label = document.querySelector(`[data-heat-opacity-label="${slider.id}"]`);
    if (label) label.textContent = `${Math.round(Number(slider.value) * 100)} %`;
    for (const link of scope.querySelectorAll('a[data-overlay-download]')) {
        const url = new URL(link.href, document.baseURI);
        url.searchParams.set('opacity', slider.value);
        link.href = url.pathname + url.search;
    }
});
