/*
 * DP maze simulator (Day2): edit a maze, ask the server to plan it with Value Iteration or
 * Policy Iteration, and play the iterations back.
 *
 * Plain JavaScript, no libraries, no build step. The server (DP/application.py) does all the
 * planning; this page only draws what /plan answers: `log` (values per iteration),
 * `arrows_log` (arrows per iteration, one bit per action), `deltas`, `q_values`, ...
 */
(() => {
  'use strict';

  const ACTIONS = ['UP', 'DOWN', 'LEFT', 'RIGHT'];
  const ARROW_NAMES = ['up', 'down', 'left', 'right'];
  const SYMBOLS = ['↑', '↓', '←', '→'];
  const ORDINARY = 0;
  const TREASURE = 1;
  const DANGER = -1;
  const BLOCK = 9;
  const KINDS = new Map([
    [ORDINARY, 'Ordinary'], [TREASURE, 'Treasure'], [DANGER, 'Danger'], [BLOCK, 'Block'],
  ]);
  const MIN_SIDE = 2;
  const MAX_SIDE = Number(document.body.dataset.maxSide) || 20;
  const SAMPLE_GRID = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]];
  const PLAN_NAMES = { value: 'Value Iteration', policy: 'Policy Iteration' };
  const THRESHOLD = 1e-4;

  const $ = (id) => document.getElementById(id);
  const els = {
    rows: $('rows'), columns: $('columns'), draw: $('draw'),
    prob: $('prob'), probOut: $('prob-out'), gamma: $('gamma'), gammaOut: $('gamma-out'),
    live: $('live'), save: $('save'), load: $('load'), loadFile: $('load-file'),
    message: $('message'), messageText: $('message-text'), messageClose: $('message-close'),
    status: $('status'), grid: $('grid'),
    first: $('first'), prev: $('prev'), play: $('play'), next: $('next'), last: $('last'),
    frame: $('frame'), frameLabel: $('frame-label'), speed: $('speed'),
    phase: $('phase'), converged: $('converged'), chart: $('chart'), cellInfo: $('cell-info'),
  };
  const runButtons = [$('run-value'), $('run-policy')];
  const kindButtons = Array.from(document.querySelectorAll('button.kind'));

  const state = {
    grid: SAMPLE_GRID.map((row) => row.slice()),
    cells: [],            // [row][column] -> { root, value, label, shown }
    selection: new Set(), // "row,column" keys
    anchor: null,         // where a drag or shift-click selection starts
    dragging: false,
    hover: null,
    result: null,         // the last answer of /plan for the current grid
    scale: 1,             // |value| that gets the strongest colour
    frame: 0,
    timer: null,
    lastPlan: null,
    controller: null,     // AbortController of the request in flight
    liveTimer: null,
    chartSize: null,      // the canvas' CSS size [width, height]
  };

  // ---------------------------------------------------------------- helpers

  const key = (r, c) => `${r},${c}`;
  const rowsOf = () => state.grid.length;
  const columnsOf = () => state.grid[0].length;
  const isStart = (r, c) => r === rowsOf() - 1 && c === 0;
  const clampInt = (value, low, high) => Math.min(high, Math.max(low, Math.round(value)));

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function formatValue(v) {
    const text = Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
    return text === '-0.00' ? '0.00' : text.replace('-', '−');
  }

  function showMessage(text, kind = 'error') {
    els.messageText.textContent = text;
    els.message.className = `message ${kind}`;
    els.message.hidden = false;
  }

  function clearMessage() {
    els.message.hidden = true;
    els.messageText.textContent = '';
  }

  function setStatus(text) {
    els.status.textContent = text;
  }

  // Diverging colour scale: red (negative) - light grey (0) - green (positive).
  const NEUTRAL = [247, 247, 247];
  const POSITIVE = [26, 152, 80];
  const NEGATIVE = [215, 48, 39];

  // 401 shades from -1 to +1, computed once: a 20 x 20 frame then costs only lookups.
  const SHADES = Array.from({ length: 401 }, (_, i) => {
    const t = i / 200 - 1;
    const strength = Math.abs(t);
    const end = t >= 0 ? POSITIVE : NEGATIVE;
    const rgb = NEUTRAL.map((n, k) => Math.round(n + (end[k] - n) * strength));
    return { css: `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`, dark: strength > 0.55 };
  });

  function colourOf(value, scale) {
    const t = Math.max(-1, Math.min(1, value / scale));
    return SHADES[Math.round((t + 1) * 200)];
  }

  // ---------------------------------------------------------------- the grid

  function cellSize(rows, columns) {
    const wide = window.innerWidth > 760;
    const room = wide ? Math.min(760, Math.max(320, els.grid.parentElement.clientWidth - 16)) : 340;
    return clampInt(Math.min(room / columns, 680 / rows) - 2, 28, 84);
  }

  // Small cells (big mazes) get a compact layout: value above, side arrows below it.
  function applyCellSize() {
    const size = cellSize(rowsOf(), columnsOf());
    els.grid.style.setProperty('--cell', `${size}px`);
    els.grid.classList.toggle('compact', size < 50);
  }

  function buildGrid() {
    const rows = rowsOf();
    const columns = columnsOf();
    els.grid.replaceChildren();
    els.grid.style.setProperty('--columns', String(columns));
    applyCellSize();
    els.grid.setAttribute('aria-rowcount', String(rows));
    els.grid.setAttribute('aria-colcount', String(columns));
    state.cells = [];
    for (let r = 0; r < rows; r += 1) {
      const line = [];
      for (let c = 0; c < columns; c += 1) {
        const root = element('div', 'cell');
        root.dataset.row = String(r);
        root.dataset.column = String(c);
        root.setAttribute('role', 'gridcell');
        const value = element('span', 'value');
        const label = element('span', 'label');
        const arrows = ARROW_NAMES.map((name) => element('span', `arrow ${name}`));
        root.append(value, label, ...arrows);
        if (isStart(r, c)) root.append(element('span', 'start', 'S'));
        els.grid.append(root);
        line.push({ root, value, label, shown: {} });
      }
      state.cells.push(line);
    }
    state.selection = new Set([key(rows - 1, 0)]);
    state.anchor = [rows - 1, 0];
    els.rows.value = String(rows);
    els.columns.value = String(columns);
    render();
  }

  function paintCell(r, c, values, arrows, scale, faint) {
    const cell = state.cells[r][c];
    const kind = state.grid[r][c];
    const classes = ['cell'];
    let valueText = '';
    let labelText = '';
    let background = '';
    let dark = false;
    if (kind === TREASURE) {
      classes.push('treasure');
      valueText = '+1';
      labelText = 'Treasure';
    } else if (kind === DANGER) {
      classes.push('danger');
      valueText = '−1';
      labelText = 'Danger';
    } else if (kind === BLOCK) {
      classes.push('block');
      labelText = 'Block';
    } else if (values) {
      const v = values[r][c];
      const colour = colourOf(v, scale);
      background = colour.css;
      dark = colour.dark;
      valueText = formatValue(v);
    }
    if (dark) classes.push('dark');
    if (state.selection.has(key(r, c))) classes.push('selected');
    if (state.hover && state.hover[0] === r && state.hover[1] === c) classes.push('hover');
    // The arrows are classes of the cell (one write per cell), not of the four arrow spans.
    const bits = arrows && kind === ORDINARY ? arrows[r][c] : 0;
    ARROW_NAMES.forEach((name, a) => {
      if (bits & (1 << a)) classes.push(`go-${name}`);
    });
    if (faint && bits) classes.push('faint');
    // Only what changed is written; the last written values are kept here, not read back.
    const className = classes.join(' ');
    const shown = cell.shown;
    if (shown.className !== className) cell.root.className = shown.className = className;
    if (shown.background !== background) {
      cell.root.style.backgroundColor = shown.background = background;
    }
    if (shown.value !== valueText) cell.value.textContent = shown.value = valueText;
    if (shown.label !== labelText) cell.label.textContent = shown.label = labelText;
  }

  function render() {
    const result = state.result;
    const values = result ? result.log[state.frame] : null;
    const arrows = result ? result.arrows_log[state.frame] : null;
    // Policy Iteration starts from the uniformly random policy: its arrows are drawn faint.
    const faint = Boolean(result && result.plan === 'policy' && state.frame === 0);
    for (let r = 0; r < rowsOf(); r += 1) {
      for (let c = 0; c < columnsOf(); c += 1) {
        paintCell(r, c, values, arrows, state.scale, faint);
      }
    }
    renderPlayer();
    renderCellInfo();
    drawChart();
  }

  // ---------------------------------------------------------------- editing

  function selectedCells() {
    return Array.from(state.selection, (k) => k.split(',').map(Number));
  }

  function selectRectangle(from, to) {
    state.selection = new Set();
    const [r0, r1] = [Math.min(from[0], to[0]), Math.max(from[0], to[0])];
    const [c0, c1] = [Math.min(from[1], to[1]), Math.max(from[1], to[1])];
    for (let r = r0; r <= r1; r += 1) {
      for (let c = c0; c <= c1; c += 1) state.selection.add(key(r, c));
    }
    updateKindButtons();
    render();
  }

  function updateKindButtons() {
    const cells = selectedCells();
    const onlyStart = cells.length === 1 && isStart(cells[0][0], cells[0][1]);
    kindButtons.forEach((button) => {
      button.disabled = cells.length === 0 || (onlyStart && Number(button.dataset.kind) === BLOCK);
    });
  }

  function setKind(kind) {
    const cells = selectedCells();
    if (cells.length === 0) {
      showMessage('先にセルを選んでください (select a cell first).', 'info');
      return;
    }
    let changed = false;
    let skippedStart = false;
    cells.forEach(([r, c]) => {
      if (kind === BLOCK && isStart(r, c)) {
        skippedStart = true;
        return;
      }
      if (state.grid[r][c] !== kind) {
        state.grid[r][c] = kind;
        changed = true;
      }
    });
    if (skippedStart) {
      showMessage('スタート（左下）は Block にできません (the start cell cannot be blocked).', 'info');
    }
    if (changed) gridChanged();
  }

  // The results belong to the old maze: drop them (or re-plan at once in live mode).
  function gridChanged() {
    stopPlayback();
    state.result = null;
    state.frame = 0;
    render();
    if (els.live.checked && state.lastPlan) {
      scheduleLiveRun();
    } else {
      setStatus('迷路を変更しました。Value Iteration か Policy Iteration で計画し直してください。');
    }
  }

  function scheduleLiveRun() {
    window.clearTimeout(state.liveTimer);
    state.liveTimer = window.setTimeout(() => run(state.lastPlan, { live: true }), 120);
  }

  function cellFromEvent(event) {
    const target = document.elementFromPoint(event.clientX, event.clientY);
    const cell = target && target.closest ? target.closest('.cell') : null;
    if (!cell || !els.grid.contains(cell)) return null;
    return [Number(cell.dataset.row), Number(cell.dataset.column)];
  }

  function onPointerDown(event) {
    if (event.button !== 0) return;
    const at = cellFromEvent(event);
    if (!at) return;
    event.preventDefault();
    els.grid.focus({ preventScroll: true });
    if (event.ctrlKey || event.metaKey) {
      const k = key(at[0], at[1]);
      if (state.selection.has(k)) state.selection.delete(k);
      else state.selection.add(k);
      state.anchor = at;
      updateKindButtons();
      render();
      return;
    }
    if (!event.shiftKey || !state.anchor) state.anchor = at;
    state.dragging = true;
    selectRectangle(state.anchor, at);
  }

  function onPointerMove(event) {
    const at = cellFromEvent(event);
    const previous = state.hover;
    state.hover = at;
    if (state.dragging && at) {
      selectRectangle(state.anchor, at);
      return;
    }
    if (!previous !== !at || (at && (previous[0] !== at[0] || previous[1] !== at[1]))) {
      if (previous) paintOne(previous);
      if (at) paintOne(at);
      renderCellInfo();
    }
  }

  function paintOne([r, c]) {
    if (r >= rowsOf() || c >= columnsOf()) return;
    const result = state.result;
    paintCell(r, c, result ? result.log[state.frame] : null,
      result ? result.arrows_log[state.frame] : null, state.scale,
      Boolean(result && result.plan === 'policy' && state.frame === 0));
  }

  function onKeyDown(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const shortcuts = {
      t: TREASURE, d: DANGER, b: BLOCK, c: ORDINARY,
      1: TREASURE, '-': DANGER, 9: BLOCK, 0: ORDINARY, delete: ORDINARY, backspace: ORDINARY,
    };
    if (moves[event.key]) {
      event.preventDefault();
      const from = state.anchor || [rowsOf() - 1, 0];
      const to = [
        clampInt(from[0] + moves[event.key][0], 0, rowsOf() - 1),
        clampInt(from[1] + moves[event.key][1], 0, columnsOf() - 1),
      ];
      state.anchor = to;
      selectRectangle(to, to);
      state.hover = to;
      renderCellInfo();
    } else if (Object.prototype.hasOwnProperty.call(shortcuts, event.key.toLowerCase())) {
      event.preventDefault();
      setKind(shortcuts[event.key.toLowerCase()]);
    }
  }

  function drawNewGrid() {
    const rows = Number(els.rows.value);
    const columns = Number(els.columns.value);
    const ok = (n) => Number.isInteger(n) && n >= MIN_SIDE && n <= MAX_SIDE;
    if (!ok(rows) || !ok(columns)) {
      showMessage(`行と列は ${MIN_SIDE} から ${MAX_SIDE} の整数にしてください `
        + `(rows and columns must be whole numbers from ${MIN_SIDE} to ${MAX_SIDE}).`);
      return;
    }
    clearMessage();
    stopPlayback();
    state.grid = Array.from({ length: rows }, () => new Array(columns).fill(ORDINARY));
    state.result = null;
    state.frame = 0;
    buildGrid();
    updateKindButtons();
    setStatus(`${rows} × ${columns} の迷路を描きました。セルを選んで Treasure や Danger を置いてみましょう。`);
  }

  // ---------------------------------------------------------------- parameters

  function readParameter(input) {
    const value = Number(input.value);
    return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
  }

  function showParameters() {
    els.probOut.textContent = readParameter(els.prob).toFixed(2);
    els.gammaOut.textContent = readParameter(els.gamma).toFixed(2);
  }

  function parametersChanged() {
    showParameters();
    if (state.result) {
      stopPlayback();
      state.result = null;
      state.frame = 0;
      render();
      if (els.live.checked && state.lastPlan) scheduleLiveRun();
      else setStatus('パラメーターを変更しました。もう一度計画してください。');
    }
  }

  // ---------------------------------------------------------------- planning

  function setBusy(busy, plan) {
    runButtons.forEach((button) => {
      button.classList.toggle('busy', busy && button.dataset.plan === plan);
    });
    els.grid.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (body && typeof body.error === 'string') return body.error;
    } catch (ignored) {
      // Not JSON: fall back to the status line below.
    }
    return response.statusText || 'unknown error';
  }

  async function run(plan, { live = false } = {}) {
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    state.lastPlan = plan;
    stopPlayback();
    clearMessage();
    setBusy(true, plan);
    setStatus(`${PLAN_NAMES[plan]} を計算しています… (planning)`);
    const body = {
      plan,
      prob: readParameter(els.prob),
      gamma: readParameter(els.gamma),
      grid: state.grid,
    };
    let result;
    try {
      const response = await fetch('plan', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) {
        const text = await errorText(response);
        throw new Error(`サーバーがエラーを返しました (${response.status}): ${text}`);
      }
      result = await response.json();
    } catch (error) {
      if (error.name === 'AbortError') return;
      state.result = null;
      render();
      const text = error instanceof TypeError
        ? `サーバーに接続できませんでした。python DP/run_server.py が動いているか確認してください (${error.message}).`
        : error.message;
      showMessage(text);
      setStatus('計画できませんでした (planning failed).');
      return;
    } finally {
      if (state.controller === controller) {
        state.controller = null;
        setBusy(false, plan);
      }
    }
    showResult(result, live);
  }

  function showResult(result, live) {
    state.result = result;
    let biggest = 0;
    result.log.forEach((grid) => grid.forEach((row) => row.forEach((v) => {
      biggest = Math.max(biggest, Math.abs(v));
    })));
    state.scale = Math.max(1, biggest);
    els.frame.max = String(result.iterations);
    const when = `${result.name} (γ = ${result.gamma}, move prob = ${result.prob})`;
    setStatus(`${when}: ${result.elapsed_ms.toFixed(1)} ms で計算しました。`);
    els.converged.textContent = `converged in ${result.iterations} iterations — `
      + `${result.iterations} 回の反復で収束しました`;
    if (live) {
      showFrame(result.iterations);
    } else {
      showFrame(0);
      play();
    }
  }

  // ---------------------------------------------------------------- playback

  function showFrame(index) {
    if (!state.result) return;
    state.frame = clampInt(index, 0, state.result.iterations);
    render();
  }

  function frameInterval() {
    const choice = els.speed.value;
    if (choice !== 'auto') return Number(choice);
    // Automatic speed: a whole run takes about four seconds, but never flickers.
    const n = state.result ? Math.max(1, state.result.iterations) : 1;
    return clampInt(4000 / n, 30, 700);
  }

  function play() {
    if (!state.result) return;
    if (state.frame >= state.result.iterations) state.frame = 0;
    stopPlayback();
    const tick = () => {
      if (!state.result || state.frame >= state.result.iterations) {
        stopPlayback();
        return;
      }
      showFrame(state.frame + 1);
      state.timer = window.setTimeout(tick, frameInterval());
    };
    state.timer = window.setTimeout(tick, frameInterval());
    render();
  }

  function stopPlayback() {
    if (state.timer !== null) window.clearTimeout(state.timer);
    state.timer = null;
    renderPlayer();
  }

  function togglePlay() {
    if (state.timer !== null) stopPlayback();
    else play();
  }

  function renderPlayer() {
    const result = state.result;
    const n = result ? result.iterations : 0;
    const playing = state.timer !== null;
    els.frame.max = String(n);
    els.frame.value = String(state.frame);
    els.frame.disabled = !result;
    [els.first, els.prev].forEach((b) => { b.disabled = !result || state.frame === 0; });
    [els.next, els.last].forEach((b) => { b.disabled = !result || state.frame >= n; });
    els.play.disabled = !result;
    els.play.classList.toggle('playing', playing);
    els.play.setAttribute('aria-label', playing ? '一時停止 (pause)' : '再生 (play)');
    els.frameLabel.textContent = result ? `反復 ${state.frame} / ${n}` : '0 / 0';
    if (!result) {
      els.phase.textContent = '';
      els.converged.textContent = '';
      return;
    }
    let phase;
    if (state.frame === 0) {
      phase = result.plan === 'policy'
        ? '反復 0: 価値はすべて 0、方策は 4 方向ランダム (uniform random policy).'
        : '反復 0: 価値はすべて 0 から始まります (all values start at 0).';
    } else if (result.plan === 'policy') {
      phase = `反復 ${state.frame}: 方策評価で V^π を求め、方策改善で矢印を更新 `
        + `(policy evaluation → improvement).`;
    } else {
      phase = `反復 ${state.frame}: 全セルを一度ずつ更新（スイープ） — 最大変化量 `
        + `max|ΔV| = ${result.deltas[state.frame - 1].toExponential(2)}`;
    }
    if (state.frame === n) phase += '　✓ 最終結果 (final)';
    els.phase.textContent = phase;
  }

  // ---------------------------------------------------------------- cell details

  function renderCellInfo() {
    const at = state.hover || (state.selection.size === 1 ? selectedCells()[0] : null);
    const box = els.cellInfo;
    if (!at || at[0] >= rowsOf() || at[1] >= columnsOf()) {
      box.textContent = 'セルにカーソルを合わせると、価値 V(s) と行動価値 Q(s, a) を表示します。';
      return;
    }
    const [r, c] = at;
    const kind = state.grid[r][c];
    const lines = [];
    const title = element('div', '', `セル (row ${r}, column ${c}) — ${KINDS.get(kind)}`
      + (isStart(r, c) ? ' / Start' : ''));
    lines.push(title);
    const result = state.result;
    if (kind === TREASURE || kind === DANGER) {
      lines.push(element('div', '', `ここに着くと報酬 ${kind > 0 ? '+1' : '−1'} でエピソード終了。`));
    } else if (kind === BLOCK) {
      lines.push(element('div', '', '入れないセルです。ぶつかるとその場に留まります。'));
    } else if (result) {
      lines.push(element('div', '', `V(s) = ${result.log[state.frame][r][c].toFixed(4)}`
        + `（反復 ${state.frame}）`));
      const q = result.q_values[r][c];
      if (q) {
        const best = Math.max(...q);
        const table = element('table');
        const caption = element('tr');
        const heading = element('th', '', 'Q(s, a) 最終結果');
        heading.colSpan = 2;
        caption.append(heading);
        table.append(caption);
        q.forEach((value, a) => {
          const tr = element('tr', value >= best - 1e-6 ? 'best' : '');
          tr.append(element('td', '', `${SYMBOLS[a]} ${ACTIONS[a]}`), element('td', '', value.toFixed(4)));
          table.append(tr);
        });
        lines.push(table);
      }
    } else {
      lines.push(element('div', '', 'まだ計画していません。'));
    }
    box.replaceChildren(...lines);
  }

  // ---------------------------------------------------------------- convergence chart

  function drawChart() {
    const canvas = els.chart;
    const ratio = window.devicePixelRatio || 1;
    // Measured once (and on resize): reading the size each frame would force a page layout.
    if (!state.chartSize) state.chartSize = [canvas.clientWidth, canvas.clientHeight];
    const width = Math.max(200, state.chartSize[0]);
    const height = Math.max(100, state.chartSize[1]);
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#5b6775';
    const result = state.result;
    if (!result || result.deltas.length === 0) {
      ctx.fillText('計画すると、反復ごとの max|ΔV| をここに描きます。', 12, height / 2);
      return;
    }
    const left = 44;
    const right = width - 10;
    const top = 10;
    const bottom = height - 22;
    const logs = result.deltas.map((d) => Math.log10(Math.max(d, 1e-8)));
    const high = Math.max(0, Math.ceil(Math.max(...logs)));
    const low = Math.min(-5, Math.floor(Math.min(...logs)));
    const n = result.deltas.length;
    const x = (i) => left + ((right - left) * (n === 1 ? 0.5 : (i - 1) / (n - 1)));
    const y = (lg) => top + ((bottom - top) * (high - lg)) / (high - low);

    ctx.strokeStyle = '#e3e7ed';
    ctx.lineWidth = 1;
    for (let e = low; e <= high; e += 1) {
      ctx.beginPath();
      ctx.moveTo(left, y(e));
      ctx.lineTo(right, y(e));
      ctx.stroke();
      ctx.fillText(`1e${e}`, 4, y(e) + 4);
    }
    ctx.fillText('iteration →', (left + right) / 2 - 30, height - 6);
    ctx.fillText('1', left - 2, height - 6);
    ctx.fillText(String(n), right - 12, height - 6);

    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = '#1a9850';
    ctx.beginPath();
    ctx.moveTo(left, y(Math.log10(THRESHOLD)));
    ctx.lineTo(right, y(Math.log10(THRESHOLD)));
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#1a9850';
    ctx.fillText('threshold', left + 4, y(Math.log10(THRESHOLD)) - 4);

    ctx.strokeStyle = '#2457c5';
    ctx.lineWidth = 2;
    ctx.beginPath();
    logs.forEach((lg, i) => {
      if (i === 0) ctx.moveTo(x(i + 1), y(lg));
      else ctx.lineTo(x(i + 1), y(lg));
    });
    ctx.stroke();

    if (state.frame > 0) {
      ctx.fillStyle = '#ffb000';
      ctx.beginPath();
      ctx.arc(x(state.frame), y(logs[state.frame - 1]), 5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  // ---------------------------------------------------------------- save and load

  function mazeText() {
    // One row per line, so that a saved maze is easy to read and edit by hand.
    const rows = state.grid.map((row) => `    [${row.join(', ')}]`).join(',\n');
    return `{\n  "grid": [\n${rows}\n  ],\n  "prob": ${readParameter(els.prob)},\n`
      + `  "gamma": ${readParameter(els.gamma)}\n}\n`;
  }

  function saveMaze() {
    const blob = new Blob([mazeText()], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const link = element('a');
    link.href = url;
    link.download = 'maze.json';
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
    showMessage('maze.json として保存しました (saved).', 'info');
  }

  // The same checks as the server's, so that a broken file is refused with a clear reason.
  function parseMaze(text) {
    let data;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new Error(`JSON として読めません (not valid JSON): ${error.message}`);
    }
    if (Array.isArray(data)) data = { grid: data };
    if (!data || typeof data !== 'object' || !Array.isArray(data.grid)) {
      throw new Error('"grid" がありません (the file must hold {"grid": [[...]], ...}).');
    }
    const grid = data.grid;
    if (grid.length < MIN_SIDE || grid.length > MAX_SIDE || !grid.every(Array.isArray)) {
      throw new Error(`行数は ${MIN_SIDE}〜${MAX_SIDE} にしてください (rows must be ${MIN_SIDE} to ${MAX_SIDE}).`);
    }
    const columns = grid[0].length;
    if (columns < MIN_SIDE || columns > MAX_SIDE) {
      throw new Error(`列数は ${MIN_SIDE}〜${MAX_SIDE} にしてください (columns must be ${MIN_SIDE} to ${MAX_SIDE}).`);
    }
    grid.forEach((row, r) => {
      if (row.length !== columns) {
        throw new Error(`迷路が長方形ではありません: ${r} 行目のセル数が違います (the grid must be rectangular).`);
      }
      row.forEach((cell) => {
        if (!KINDS.has(cell)) {
          throw new Error(`不明なセルの値 ${JSON.stringify(cell)} (use 0, 1, -1 or 9).`);
        }
      });
    });
    if (grid[grid.length - 1][0] === BLOCK) {
      throw new Error('スタート（左下）が Block になっています (the start cell must not be a block).');
    }
    const number = (name) => {
      if (data[name] === undefined) return null;
      const v = data[name];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
        throw new Error(`"${name}" は 0 から 1 の数にしてください (must be a number in [0, 1]).`);
      }
      return v;
    };
    return { grid, prob: number('prob'), gamma: number('gamma') };
  }

  async function loadMaze(file) {
    try {
      const maze = parseMaze(await file.text());
      stopPlayback();
      state.grid = maze.grid.map((row) => row.slice());
      if (maze.prob !== null) els.prob.value = String(maze.prob);
      if (maze.gamma !== null) els.gamma.value = String(maze.gamma);
      showParameters();
      state.result = null;
      state.frame = 0;
      buildGrid();
      updateKindButtons();
      clearMessage();
      setStatus(`${file.name} を読み込みました (${rowsOf()} × ${columnsOf()}).`);
      if (els.live.checked && state.lastPlan) scheduleLiveRun();
    } catch (error) {
      showMessage(`${file.name} を読み込めませんでした: ${error.message}`);
    } finally {
      els.loadFile.value = '';
    }
  }

  // ---------------------------------------------------------------- wiring

  function start() {
    els.prob.value = document.body.dataset.defaultProb || '0.8';
    els.gamma.value = document.body.dataset.defaultGamma || '0.9';
    showParameters();
    els.rows.max = String(MAX_SIDE);
    els.columns.max = String(MAX_SIDE);

    els.draw.addEventListener('click', drawNewGrid);
    [els.rows, els.columns].forEach((input) => input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') drawNewGrid();
    }));
    kindButtons.forEach((button) => button.addEventListener('click', () => {
      setKind(Number(button.dataset.kind));
    }));
    runButtons.forEach((button) => button.addEventListener('click', () => run(button.dataset.plan)));
    [els.prob, els.gamma].forEach((input) => {
      input.addEventListener('input', showParameters);
      input.addEventListener('change', parametersChanged);
    });
    els.live.addEventListener('change', () => {
      if (els.live.checked && state.lastPlan && !state.result) scheduleLiveRun();
    });

    els.grid.addEventListener('pointerdown', onPointerDown);
    window.addEventListener('pointermove', onPointerMove);
    window.addEventListener('pointerup', () => { state.dragging = false; });
    els.grid.addEventListener('pointerleave', () => {
      if (!state.dragging && state.hover) {
        const previous = state.hover;
        state.hover = null;
        paintOne(previous);
        renderCellInfo();
      }
    });
    els.grid.addEventListener('keydown', onKeyDown);

    els.first.addEventListener('click', () => { stopPlayback(); showFrame(0); });
    els.prev.addEventListener('click', () => { stopPlayback(); showFrame(state.frame - 1); });
    els.next.addEventListener('click', () => { stopPlayback(); showFrame(state.frame + 1); });
    els.last.addEventListener('click', () => {
      stopPlayback();
      if (state.result) showFrame(state.result.iterations);
    });
    els.play.addEventListener('click', togglePlay);
    els.frame.addEventListener('input', () => {
      const wanted = Number(els.frame.value); // read it before stopPlayback redraws the slider
      stopPlayback();
      showFrame(wanted);
    });

    els.save.addEventListener('click', saveMaze);
    els.load.addEventListener('click', () => els.loadFile.click());
    els.loadFile.addEventListener('change', () => {
      if (els.loadFile.files.length > 0) loadMaze(els.loadFile.files[0]);
    });
    els.messageClose.addEventListener('click', clearMessage);

    let resizeTimer = null;
    window.addEventListener('resize', () => {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(() => {
        applyCellSize();
        state.chartSize = null;
        drawChart();
      }, 100);
    });

    buildGrid();
    updateKindButtons();
    setStatus('迷路を編集して、Value Iteration か Policy Iteration を押してください (edit the maze, then plan).');
    document.body.dataset.ready = 'true';
  }

  start();
})();
