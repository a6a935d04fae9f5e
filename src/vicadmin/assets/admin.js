// Follows a log on the admin page: the server sends its tail, then what is appended, as
// Server-Sent Events ("text" events carrying a JSON string). Text only: nothing is parsed as HTML.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const pre of document.querySelectorAll('pre[data-follow]')) {
    const state = document.querySelector('[data-follow-state]');
    const source = new EventSource(pre.dataset.follow);
    const say = (text) => { if (state) state.textContent = text; };
    // Each (re)connection starts with the log's tail again: show it afresh rather than twice.
    source.addEventListener('open', () => { pre.textContent = ''; say('Following live.'); });
    source.addEventListener('error', () => say('Connection lost; retrying…'));
    source.addEventListener('text', (event) => {
      const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
      pre.append(document.createTextNode(JSON.parse(event.data)));
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    });
  }
});
