/*
 * DP maze simulator (Day2): edit a maze and its rewards, ask the server to plan it with Value
 * Iteration or Policy Iteration, play the steps back, and let an agent walk the plan.
 *
 * Plain JavaScript, no libraries, no build step. The server (DP/application.py) does all the
 * planning; this page only draws what /plan answers: `log` and `arrows_log` (Value Iteration:
 * every sweep), `steps` (Policy Iteration: every evaluation sweep and improvement), `deltas`,
 * `q_values`, `rewards`, and `model`, the transition table the agent walks with. The maze
 * editor (maze.js's Editor: selection, pointer, keyboard, kinds and rewards), the cell kinds,
 * number formats, colour scale, maze JSON and page helpers come from maze.js, which the Day3
 * page (learn.js) shares.
 */
(() => {
  'use strict';

  const ACTIONS = ['UP', 'DOWN', 'LEFT', 'RIGHT'];
  const ARROW_NAMES = ['up', 'down', 'left', 'right'];
  const SYMBOLS = ['↑', '↓', '←', '→'];
  const {
    ORDINARY, TREASURE, DANGER, BLOCK, KINDS, DEFAULT_STEP_REWARD, MIN_SIDE, TINY_CELL,
    formatValue, formatReward, colourOf, commonOrdinaryReward, element, showMessage,
  } = window.Maze;
  const MAX_SIDE = Number(document.body.dataset.maxSide) || 20;
  const REWARD_LIMIT = Number(document.body.dataset.rewardLimit) || 10;
  const SAMPLE_GRID = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]];
  // A walk that has not ended after this many steps is cut off (a policy may go round in
  // circles, or a maze may have no end at all).
  const MAX_WALK_STEPS = 500;
  const MAX_EPISODES = 10000;
  // What to change when planning did not converge (the 422 answer's hint.code), in Japanese;
  // the server's English sentence follows it.
  const HINTS = {
    gamma_close_to_1: (h) => `γ が 1 に近いと価値がなかなか落ち着きません。γ を ${h.safe_gamma} 以下に`
      + 'してください（この報酬なら必ず収束します）',
    positive_reward: (h) => 'γ = 1 では、通常セルのプラスの報酬を何度でも取れるので、価値が際限なく'
      + `大きくなります。γ を ${h.safe_gamma} 以下にするか、その報酬をマイナスにしてください`,
    never_ends: (h) => 'γ = 1 では、Treasure にも Danger にも行けないセルの価値が際限なく下がります。'
      + `γ を ${h.safe_gamma} 以下にするか、どのセルからも Treasure か Danger に行けるようにしてください`,
    random_policy: (h) => 'γ = 1 では、Policy Iteration が最初に評価するランダム戦略の評価がなかなか'
      + `終わりません。γ を ${h.safe_gamma} 以下にするか、Value Iteration を試してください`,
    gamma_1: (h) => `γ を 1 より小さく（${h.safe_gamma} 以下に）してください`,
    timeout: (h) => `計算が ${h.seconds} 秒を超えたので止めました。迷路を小さくするか、γ を下げてください`,
  };
  const WARNINGS = {
    no_terminal: 'この迷路には Treasure も Danger もありません。エピソードが終わらないので、価値は報酬を'
      + '割り引きながら永遠に足し合わせたものになります',
    unreachable: 'スタートからは Treasure にも Danger にも行けません。S からのエピソードは終わりません',
  };

  const $ = (id) => document.getElementById(id);
  const els = {
    rows: $('rows'), columns: $('columns'), draw: $('draw'),
    reward: $('reward'), setReward: $('set-reward'), stepReward: $('step-reward'),
    prob: $('prob'), probOut: $('prob-out'), gamma: $('gamma'), gammaOut: $('gamma-out'),
    live: $('live'), loadFile: $('load-file'),
    message: $('message'), messageText: $('message-text'),
    warning: $('warning'), status: $('status'), grid: $('grid'),
    legendLow: $('legend-low'), legendHigh: $('legend-high'), legendNote: $('legend-note'),
    tinyNote: $('tiny-note'),
    first: $('first'), prev: $('prev'), play: $('play'), next: $('next'), last: $('last'),
    frame: $('frame'), frameLabel: $('frame-label'), speed: $('speed'),
    piSteps: $('pi-steps'), stepSweep: $('step-sweep'), stepImprove: $('step-improve'),
    phase: $('phase'), converged: $('converged'),
    walk: $('walk'), walkMany: $('walk-many'), episodes: $('episodes'), seed: $('seed'),
    walkStatus: $('walk-status'), walkLog: $('walk-log'), walkSummary: $('walk-summary'),
    chart: $('chart'), chartTitle: $('chart-title'), cellInfo: $('cell-info'),
    // Where a message about each control is shown (maze.js showMessage): right after these.
    planBar: $('plan-bar'), walkControls: $('walk-controls'), fileButtons: $('file-buttons'),
    editSlot: $('edit-bar-slot'), rewardRow: $('reward-row'), stepRewardRow: $('step-reward-row'),
  };
  const runButtons = [$('run-value'), $('run-policy')];
  const kindButtons = Array.from(document.querySelectorAll('button.kind'));
  const viewInputs = Array.from(document.querySelectorAll('input[name="view"]'));

  // The maze, its rewards and the selection live in the editor (maze.js); the page draws.
  let editor = null;
  const state = {
    cells: [],            // [row][column] -> { root, value, label, shown }
    hover: null,          // the cell under the pointer (or the keyboard's), as [row, column]
    result: null,         // the last answer of /plan for the current maze
    frames: [],           // what playback shows, one entry per step (see framesOf)
    scale: 1,             // |value| that gets the strongest colour
    view: 'value',        // what the cells show: 'value' V(s) or 'reward' R(s)
    frame: 0,
    timer: null,
    lastPlan: null,
    controller: null,     // AbortController of the request in flight
    liveTimer: null,
    chartSizes: new Map(), // the chart canvas' CSS size, measured once (see prepareCanvas)
    cellSize: 64,
    walker: null,         // the walk being animated: { timer, agent, ... }
    rng: null,            // the walking agent's random numbers (seeded)
  };

  // ---------------------------------------------------------------- helpers

  const clampInt = (value, low, high) => Math.min(high, Math.max(low, Math.round(value)));

  function clearMessage() {
    els.message.hidden = true;
    els.messageText.textContent = '';
  }

  function setStatus(text) {
    els.status.textContent = text;
  }

  // ---------------------------------------------------------------- rewards

  // A reward typed by the learner: a finite number within the limits, or null.
  function readReward(input) {
    const text = input.value.trim();
    const value = Number(text);
    if (text === '' || !Number.isFinite(value) || Math.abs(value) > REWARD_LIMIT) return null;
    return value;
  }

  function rewardRefused(near) {
    showMessage(`報酬は −${REWARD_LIMIT} から ${REWARD_LIMIT} の数にしてください `
      + `(a reward must be a number from −${REWARD_LIMIT} to ${REWARD_LIMIT}).`, 'error', near);
  }

  function setRewardOfSelection() {
    const value = readReward(els.reward);
    if (value === null) {
      rewardRefused(els.rewardRow);
      return;
    }
    if (!editor.selected().some(([r, c]) => editor.grid[r][c] !== BLOCK)) {
      showMessage('報酬を設定するセル（Block 以外）を選んでください (select a cell first).', 'info',
        els.rewardRow);
      return;
    }
    clearMessage();
    editor.setReward(value);
  }

  // The step reward is the default of every ordinary cell: those still at the old default
  // follow it, those given their own reward keep it.
  function stepRewardChanged() {
    const value = readReward(els.stepReward);
    if (value === null) {
      rewardRefused(els.stepRewardRow);
      els.stepReward.value = String(editor.stepReward);
      return;
    }
    clearMessage();
    editor.setStepReward(value);
  }

  // ---------------------------------------------------------------- the grid

  // Under the maze, the legend and the line that says which step is shown stay in the window.
  const BELOW_GRID = 76;

  function cellSize(rows, columns) {
    // The grid must fit the board's width (no sideways scrolling, on a phone too) and, on a
    // wide screen, the window's height under the plan buttons and the playback, so that the
    // maze and what acts on it are seen together. Each cell takes its size plus a 2 px gap.
    const board = els.grid.parentElement;
    const width = Math.min(760, board.clientWidth - 8);
    const height = window.Maze.heightForBoard(board, BELOW_GRID);
    return window.Maze.fitCellSize(width, height, rows, columns);
  }

  function applyCellSize() {
    const size = cellSize(editor.rows, editor.columns);
    if (size !== state.cellSize) stopWalk(true); // the agent and its trail were placed in px
    state.cellSize = size;
    window.Maze.applyCellSize(els.grid, size);
    els.tinyNote.hidden = size >= TINY_CELL;
  }

  function buildGrid() {
    stopWalk(true);
    const { rows, columns } = editor;
    const rowElements = window.Maze.resetBoard(els.grid, rows, columns);
    applyCellSize();
    state.cells = [];
    for (let r = 0; r < rows; r += 1) {
      const line = [];
      for (let c = 0; c < columns; c += 1) {
        const root = window.Maze.cellElement(els.grid, r, c);
        const value = element('span', 'value');
        const label = element('span', 'label');
        // In the order up, down, left, right (the order of ACTIONS and of the bits).
        const arrows = ARROW_NAMES.map((name) => element('span', `arrow ${name}`));
        root.append(value, label, ...arrows);
        if (editor.isStart(r, c)) root.append(element('span', 'start', 'S'));
        rowElements[r].append(root);
        line.push({ root, value, label, shown: {} });
      }
      state.cells.push(line);
    }
    els.rows.value = String(rows);
    els.columns.value = String(columns);
    render();
  }

  function currentFrame() {
    return state.result ? state.frames[state.frame] : null;
  }

  function paintCell(r, c, frame) {
    const cell = state.cells[r][c];
    const { kind, reward, classes, value, label: labelText } = window.Maze.cellLook(editor, r, c);
    let valueText = value;
    let background = '';
    let dark = false;
    if (kind === ORDINARY && state.view === 'reward') {
      const colour = colourOf(reward, state.scale);
      background = colour.css;
      dark = colour.dark;
      valueText = formatReward(reward);
    } else if (kind === ORDINARY && frame) {
      const v = frame.values[r][c];
      const colour = colourOf(v, state.scale);
      background = colour.css;
      dark = colour.dark;
      valueText = formatValue(v);
    }
    if (dark) classes.push('dark');
    classes.push(...editor.cellClasses(r, c));
    if (state.hover && state.hover[0] === r && state.hover[1] === c) classes.push('hover');
    // The arrows are classes of the cell (one write per cell), not of the four arrow spans.
    const bits = frame && kind === ORDINARY ? frame.arrows[r][c] : 0;
    ARROW_NAMES.forEach((name, a) => {
      if (bits & (1 << a)) classes.push(`go-${name}`);
    });
    if (frame && frame.random && bits) classes.push('faint');
    // Only what changed is written; the last written values are kept here, not read back.
    const className = classes.join(' ');
    const shown = cell.shown;
    if (shown.className !== className) cell.root.className = shown.className = className;
    if (shown.background !== background) {
      cell.root.style.backgroundColor = shown.background = background;
    }
    if (shown.value !== valueText) cell.value.textContent = shown.value = valueText;
    if (shown.label !== labelText) cell.label.textContent = shown.label = labelText;
    // What a screen reader says of the cell, and whether it is selected.
    const what = kind !== ORDINARY || !valueText ? ''
      : `${state.view === 'reward' ? '報酬 R' : '価値 V'} = ${valueText}`;
    const name = window.Maze.cellName(editor, r, c, [what, window.Maze.arrowWords(bits)]
      .filter(Boolean).join(', '));
    if (shown.name !== name) cell.root.setAttribute('aria-label', shown.name = name);
    const selected = editor.isSelected(r, c) ? 'true' : 'false';
    if (shown.selected !== selected) cell.root.setAttribute('aria-selected', shown.selected = selected);
  }

  function render() {
    const frame = currentFrame();
    for (let r = 0; r < editor.rows; r += 1) {
      for (let c = 0; c < editor.columns; c += 1) paintCell(r, c, frame);
    }
    const active = editor.activeCellId();
    if (active) els.grid.setAttribute('aria-activedescendant', active);
    else els.grid.removeAttribute('aria-activedescendant');
    renderLegend();
    renderPlayer();
    renderCellInfo();
    drawChart();
  }

  function paintOne([r, c]) {
    if (r < editor.rows && c < editor.columns) paintCell(r, c, currentFrame());
  }

  // The colours span the largest |value| of the whole playback and the largest |reward|,
  // so that a frame's colours compare with every other frame's.
  function updateScale() {
    let biggest = 0;
    editor.grid.forEach((row, r) => row.forEach((kind, c) => {
      if (kind !== BLOCK) biggest = Math.max(biggest, Math.abs(editor.rewards[r][c]));
    }));
    state.frames.forEach((frame) => frame.values.forEach((row) => row.forEach((v) => {
      biggest = Math.max(biggest, Math.abs(v));
    })));
    state.scale = biggest > 0 ? biggest : 1;
  }

  function renderLegend() {
    els.legendLow.textContent = formatValue(-state.scale);
    els.legendHigh.textContent = `+${formatValue(state.scale)}`;
    const what = state.view === 'reward' ? '報酬 R(s)' : '価値 V(s)';
    // The arrows are drawn only once there is a plan (in either view).
    els.legendNote.textContent = state.result
      ? `色 = ${what}　矢印 = 戦略（同点はすべて、長さ = 確率）` : `色 = ${what}`;
  }

  // ---------------------------------------------------------------- editing

  // The kind buttons wait for a selection. Block stays enabled on the start cell too: pressing
  // it there says, next to the buttons, why the start cannot be a Block.
  function selectionChanged() {
    const cells = editor.selected();
    kindButtons.forEach((button) => { button.disabled = cells.length === 0; });
    // The reward box shows the reward of the cell the selection started from.
    const at = editor.anchor;
    if (at && at[0] < editor.rows && at[1] < editor.columns && editor.grid[at[0]][at[1]] !== BLOCK) {
      els.reward.value = String(editor.rewards[at[0]][at[1]]);
    }
  }

  // The results belong to the old maze: drop them (or re-plan at once in live mode).
  function gridChanged() {
    dropResult();
    if (els.live.checked && state.lastPlan) {
      scheduleLiveRun();
    } else {
      setStatus('迷路を変更しました。Value Iteration か Policy Iteration で計画し直してください。');
    }
  }

  // repaint = false when the grid is rebuilt next anyway (its cells may not exist yet).
  function dropResult(repaint = true) {
    stopPlayback();
    stopWalk(true);
    state.result = null;
    state.frames = [];
    state.frame = 0;
    if (!els.warning.hidden) {
      els.warning.hidden = true;
      if (repaint) applyCellSize();
    }
    // The walks belonged to the old plan too.
    els.walkSummary.textContent = '';
    els.walkStatus.textContent = '';
    els.walkLog.replaceChildren();
    updateScale();
    if (repaint) render();
  }

  function scheduleLiveRun() {
    window.clearTimeout(state.liveTimer);
    state.liveTimer = window.setTimeout(() => run(state.lastPlan, { live: true }), 120);
  }

  // The editor moved the hover (the pointer, or the keyboard's cursor): repaint both cells.
  function hoverChanged(at) {
    const previous = state.hover;
    state.hover = at;
    if (previous) paintOne(previous);
    if (at) paintOne(at);
    renderCellInfo();
  }

  function drawNewGrid() {
    const rows = Number(els.rows.value);
    const columns = Number(els.columns.value);
    const ok = (n) => Number.isInteger(n) && n >= MIN_SIDE && n <= MAX_SIDE;
    if (!ok(rows) || !ok(columns)) {
      showMessage(`行と列は ${MIN_SIDE} から ${MAX_SIDE} の整数にしてください `
        + `(rows and columns must be whole numbers from ${MIN_SIDE} to ${MAX_SIDE}).`, 'error', els.draw);
      return;
    }
    clearMessage();
    editor.setMaze(Array.from({ length: rows }, () => new Array(columns).fill(ORDINARY)), null);
    dropResult(false);
    buildGrid();
    selectionChanged();
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
      dropResult();
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

  // What the server said, Japanese first: a 422's hint in Japanese, then its English words.
  async function errorText(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      // Not JSON: fall back to the status text below.
    }
    const english = body && typeof body.error === 'string' ? body.error : (response.statusText || 'unknown error');
    const hint = body && body.hint && HINTS[body.hint.code];
    if (response.status === 422) {
      return `計画が収束しませんでした (422)。${hint ? `${hint(body.hint)}。` : ''}（${english}）`;
    }
    return `サーバーがエラーを返しました (${response.status}): ${english}`;
  }

  async function run(plan, { live = false } = {}) {
    state.lastPlan = plan;
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    stopPlayback();
    stopWalk(true);
    setBusy(true, plan);
    if (!live) clearMessage();
    const body = {
      plan,
      prob: readParameter(els.prob),
      gamma: readParameter(els.gamma),
      grid: editor.grid,
      rewards: editor.rewards,
    };
    let result;
    try {
      const response = await fetch('/plan', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(await errorText(response));
      result = await response.json();
    } catch (error) {
      if (error.name === 'AbortError') return;
      dropResult();
      const text = error instanceof TypeError
        ? `サーバーに接続できませんでした。python DP/run_server.py が動いているか確認してください (${error.message}).`
        : error.message;
      showMessage(text, 'error', els.planBar);
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

  // What playback shows, one frame per step, each with the values and arrows in force:
  // Value Iteration: the start and every sweep; Policy Iteration: the start, every
  // evaluation sweep and every improvement (a step of `steps` carries only what changed).
  function framesOf(result) {
    if (result.plan === 'value') {
      return result.log.map((values, i) => ({
        kind: i === 0 ? 'start' : 'sweep', values, arrows: result.arrows_log[i],
        delta: i > 0 ? result.deltas[i - 1] : null, random: false,
      }));
    }
    let values = null;
    let arrows = null;
    return result.steps.map((step) => {
      if (step.values) values = step.values;
      if (step.arrows) arrows = step.arrows;
      return {
        kind: step.kind, values, arrows, policy: step.policy, sweep: step.sweep || 0,
        delta: step.kind === 'evaluation' ? step.delta : null, changed: step.changed,
        random: step.policy === 0,
      };
    });
  }

  function showResult(result, live) {
    state.result = result;
    state.frames = framesOf(result);
    els.piSteps.hidden = result.plan !== 'policy';
    updateScale();
    state.rng = null;
    const n = state.frames.length - 1;
    els.frame.max = String(n);
    const when = `${result.name} (γ = ${result.gamma}, move prob = ${result.prob})`;
    setStatus(`${when}: ${result.elapsed_ms.toFixed(1)} ms で計算しました。`);
    const warnings = result.warnings || [];
    els.warning.textContent = warnings.map((w) => `⚠ ${WARNINGS[w.code] || ''} (${w.message}).`).join(' ');
    els.warning.hidden = warnings.length === 0;
    applyCellSize(); // a warning above the maze takes room from it
    els.walkSummary.textContent = '';
    els.walkStatus.textContent = '';
    els.walkLog.replaceChildren();
    if (live) {
      showFrame(n);
    } else {
      showFrame(0);
      play();
    }
  }

  function convergedText(result) {
    if (result.plan === 'value') {
      return `converged in ${result.iterations} iterations — ${result.iterations} 回のスイープで`
        + `収束しました（max|ΔV| < ${result.threshold}）`;
    }
    const sweeps = state.frames.filter((f) => f.kind === 'evaluation').length;
    return `converged in ${result.iterations} iterations — 戦略改善 ${result.iterations} 回で`
      + `戦略が変わらなくなりました（評価スイープ 計 ${sweeps} 回）`;
  }

  // ---------------------------------------------------------------- playback

  function showFrame(index) {
    if (!state.result) return;
    const frame = clampInt(index, 0, state.frames.length - 1);
    if (frame !== state.frame) stopWalk(false);
    state.frame = frame;
    render();
  }

  function frameInterval() {
    const choice = els.speed.value;
    if (choice !== 'auto') return Number(choice);
    // Automatic speed: a whole run takes about four seconds, but never flickers.
    const n = Math.max(1, state.frames.length - 1);
    return clampInt(4000 / n, 30, 700);
  }

  function play() {
    if (!state.result) return;
    const last = state.frames.length - 1;
    if (state.frame >= last) state.frame = 0;
    stopPlayback();
    const tick = () => {
      if (!state.result || state.frame >= state.frames.length - 1) {
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

  // Policy Iteration's own steps, as reinforcejs offers them: one evaluation sweep, or on to
  // the next improvement (the rest of the evaluation, then the greedy update).
  function nextImprovement() {
    for (let i = state.frame + 1; i < state.frames.length; i += 1) {
      if (state.frames[i].kind === 'improvement') return i;
    }
    return -1;
  }

  function phaseText(result, frame, index, last) {
    if (result.plan === 'value') {
      if (frame.kind === 'start') return ['start', '反復 0: 価値はすべて 0 から始まります (all values start at 0).'];
      return ['sweep', `反復 ${index}: 全セルを一度ずつ更新（スイープ） — 最大変化量 `
        + `max|ΔV| = ${frame.delta.toExponential(2)}`];
    }
    const name = `π${frame.policy}`;
    if (frame.kind === 'start') {
      return ['start', '開始: 価値はすべて 0、戦略 π0 は 4 方向を確率 1/4 ずつ選ぶランダム戦略 '
        + '(uniform random policy).'];
    }
    if (frame.kind === 'evaluation') {
      return ['evaluation', `戦略評価 (policy evaluation): 戦略 ${name} に従ったときの価値を求める`
        + `スイープ ${frame.sweep} — max|ΔV| = ${frame.delta.toExponential(2)}`
        + (frame.delta < result.threshold ? `（${result.threshold} 未満: 評価はここで収束）` : '')];
    }
    if (index === last || frame.changed === 0) {
      return ['improvement', `戦略改善 (policy improvement): どのセルの行動も変わりません — `
        + '戦略が安定したので終了 (policy stable).'];
    }
    return ['improvement', `戦略改善 (policy improvement): 価値に対してgreedy な戦略 ${name} へ。`
      + `${frame.changed} セルの行動が変わりました。`];
  }

  function renderPlayer() {
    const result = state.result;
    const n = result ? state.frames.length - 1 : 0;
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
    els.piSteps.hidden = !result || result.plan !== 'policy';
    els.walk.disabled = !result;
    els.walkMany.disabled = !result;
    if (!result) {
      els.phase.replaceChildren();
      els.converged.textContent = '';
      return;
    }
    const frame = state.frames[state.frame];
    if (result.plan === 'policy') {
      const following = state.frames[state.frame + 1];
      els.stepSweep.disabled = !following || following.kind !== 'evaluation';
      els.stepImprove.disabled = nextImprovement() < 0;
    }
    const [kind, text] = phaseText(result, frame, state.frame, n);
    const tags = { start: '開始 start', sweep: 'スイープ sweep', evaluation: '評価 evaluation', improvement: '改善 improvement' };
    const tag = element('span', `kind-tag ${kind}`, tags[kind]);
    els.phase.replaceChildren(tag, document.createTextNode(text
      + (state.frame === n ? '　✓ 最終結果 (final)' : '')));
    els.converged.textContent = convergedText(result);
  }

  // ---------------------------------------------------------------- the walking agent

  // mulberry32: a small seeded generator, so that a seed gives the same walks every time.
  function seededRandom(seed) {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const SEED_MAX = 4294967295;

  // The walks' seed: a whole number from 0 to 2^32 − 1, as on the learning page; null (and a
  // message next to it) otherwise.
  function readSeed() {
    const text = els.seed.value.trim();
    const seed = Number(text);
    if (text === '' || !Number.isInteger(seed) || seed < 0 || seed > SEED_MAX) {
      showMessage(`seed は 0 から ${SEED_MAX} の整数にしてください `
        + `(the seed must be a whole number from 0 to ${SEED_MAX}).`, 'error', els.walkControls);
      return null;
    }
    return seed;
  }

  function walkRandom() {
    if (!state.rng) {
      const seed = readSeed();
      if (seed === null) return null;
      state.rng = seededRandom(seed);
    }
    return state.rng;
  }

  // One step of the agent, with exactly the dynamics the planner used (the answer's `model`):
  // pick one of the arrows shown (ties and the random policy: each equally likely), then one
  // of the action's outcomes with its probability. Outcome 0 is the intended move, the
  // others are the slips sideways.
  function agentStep(s, frame, random) {
    const { model } = state.result;
    const columns = state.result.columns;
    const bits = frame.arrows[Math.floor(s / columns)][s % columns];
    const choices = [0, 1, 2, 3].filter((a) => bits & (1 << a));
    const options = choices.length ? choices : [0, 1, 2, 3];
    const action = options[Math.min(options.length - 1, Math.floor(random() * options.length))];
    const probs = model.prob[s][action];
    let u = random();
    let outcome = probs.length - 1;
    for (let k = 0; k < probs.length; k += 1) {
      if (u < probs[k]) {
        outcome = k;
        break;
      }
      u -= probs[k];
    }
    const next = model.next_state[s][action][outcome];
    const reward = state.result.rewards[Math.floor(next / columns)][next % columns];
    const ended = model.prob[next].every((p) => p.every((x) => x === 0));
    return { action, outcome, next, reward, ended };
  }

  function startIndex() {
    const [r, c] = state.result.model.start;
    return r * state.result.columns + c;
  }

  // A whole episode without drawing it: its discounted return and how it ended.
  function episode(frame, random) {
    const gamma = state.result.gamma;
    let s = startIndex();
    let total = 0;
    let discount = 1;
    for (let t = 0; t < MAX_WALK_STEPS; t += 1) {
      const step = agentStep(s, frame, random);
      total += discount * step.reward;
      discount *= gamma;
      s = step.next;
      if (step.ended) return { total, end: s };
    }
    return { total, end: null };
  }

  // Where the agent (of diameter 0.4 cell) or a trail dot (0.14) goes in cell s: centred on
  // the arrows' hub, in the grid's own coordinates.
  function atHub(s, diameter) {
    const columns = state.result.columns;
    const cell = state.cells[Math.floor(s / columns)][s % columns].root;
    const size = state.cellSize;
    const hub = els.grid.classList.contains('tiny') ? 0.5 : 0.67; // as in style.css
    const x = cell.offsetLeft + size * (0.5 - diameter / 2);
    const y = cell.offsetTop + size * (hub - diameter / 2);
    return `translate(${x}px, ${y}px)`;
  }

  function placeAgent(s, animate = true) {
    const { agent } = state.walker;
    const columns = state.result.columns;
    agent.style.transition = animate ? '' : 'none';
    agent.style.transform = atHub(s, 0.4);
    agent.dataset.row = String(Math.floor(s / columns));
    agent.dataset.column = String(s % columns);
    state.walker.at = s;
  }

  function dropTrail(s, slipped) {
    const dot = element('span', slipped ? 'trail slip' : 'trail');
    dot.style.transform = atHub(s, 0.14);
    els.grid.append(dot);
    state.walker.trail.push(dot);
  }

  // stopWalk(true) also removes the agent and its trail (the maze or the plan changed).
  function stopWalk(remove) {
    const walker = state.walker;
    if (!walker) return;
    window.clearTimeout(walker.timer);
    walker.timer = null;
    if (remove) {
      walker.agent.remove();
      walker.trail.forEach((dot) => dot.remove());
      state.walker = null;
    }
  }

  function walkInterval() {
    const choice = els.speed.value;
    return choice === 'auto' ? 350 : Math.max(40, Number(choice));
  }

  function logLine(text, slipped) {
    const item = element('li', slipped ? 'slip' : '', text);
    els.walkLog.append(item);
    item.scrollIntoView({ block: 'nearest' });
  }

  function walkOnce() {
    if (!state.result) return;
    const random = walkRandom();
    if (!random) return;
    clearMessage();
    stopPlayback();
    stopWalk(true);
    const frame = state.frames[state.frame];
    const gamma = state.result.gamma;
    const agent = element('span', 'agent');
    agent.setAttribute('aria-hidden', 'true');
    els.grid.append(agent);
    state.walker = { agent, trail: [], timer: null, at: startIndex(), t: 0, total: 0, discount: 1 };
    placeAgent(state.walker.at, false);
    els.walkLog.replaceChildren();
    els.walkStatus.textContent = 'S から出発 (start).';
    const tick = () => {
      const walker = state.walker;
      if (!walker || !state.result) return;
      const step = agentStep(walker.at, frame, random);
      const slipped = step.outcome > 0;
      dropTrail(walker.at, slipped);
      walker.total += walker.discount * step.reward;
      walker.discount *= gamma;
      walker.t += 1;
      placeAgent(step.next);
      agent.classList.toggle('slipped', slipped);
      const [r, c] = [Math.floor(step.next / state.result.columns), step.next % state.result.columns];
      const moved = slipped
        ? `${SYMBOLS[step.action]} のつもりが滑って (slip) (${r}, ${c}) へ`
        : `${SYMBOLS[step.action]} で (${r}, ${c}) へ`;
      logLine(`t = ${walker.t}: ${moved}、報酬 r = ${formatReward(step.reward)}`, slipped);
      const so = `ここまでのリターン G = Σ γ^t r = ${walker.total.toFixed(4)}（${walker.t} 歩）`;
      if (step.ended) {
        const kind = KINDS.get(editor.grid[r][c]);
        els.walkStatus.textContent = `終了 (episode ended): ${kind} に到着。${so}`;
        agent.dataset.end = kind;
        walker.timer = null;
        return;
      }
      if (walker.t >= MAX_WALK_STEPS) {
        els.walkStatus.textContent = `${MAX_WALK_STEPS} 歩で打ち切り (cut off). ${so}`;
        walker.timer = null;
        return;
      }
      els.walkStatus.textContent = so;
      walker.timer = window.setTimeout(tick, walkInterval());
    };
    state.walker.timer = window.setTimeout(tick, walkInterval());
  }

  function walkMany() {
    if (!state.result) return;
    const n = Number(els.episodes.value);
    if (!Number.isInteger(n) || n < 1 || n > MAX_EPISODES) {
      showMessage(`N は 1 から ${MAX_EPISODES} の整数にしてください (N must be 1 to ${MAX_EPISODES}).`,
        'error', els.walkControls);
      return;
    }
    const random = walkRandom();
    if (!random) return;
    clearMessage();
    const frame = state.frames[state.frame];
    const returns = [];
    const ends = new Map();
    for (let i = 0; i < n; i += 1) {
      const { total, end } = episode(frame, random);
      returns.push(total);
      const columns = state.result.columns;
      const name = end === null ? 'cut off' : KINDS.get(editor.grid[Math.floor(end / columns)][end % columns]);
      ends.set(name, (ends.get(name) || 0) + 1);
    }
    const mean = returns.reduce((a, b) => a + b, 0) / n;
    const variance = returns.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1);
    const error = Math.sqrt(variance / n);
    const [r, c] = state.result.model.start;
    const value = frame.values[r][c];
    const where = Array.from(ends, ([name, count]) => `${name} ${count}`).join('、');
    els.walkSummary.textContent = `${n} エピソードの平均リターン mean return = ${mean.toFixed(4)} `
      + `± ${error.toFixed(4)}（標準誤差）　V(S) = ${value.toFixed(4)}　[${where}]`;
    els.walkSummary.dataset.mean = String(mean);
    els.walkSummary.dataset.error = String(error);
    els.walkSummary.dataset.value = String(value);
  }

  // ---------------------------------------------------------------- cell details

  function renderCellInfo() {
    const at = state.hover || (editor.selection.size === 1 ? editor.selected()[0] : null);
    const box = els.cellInfo;
    if (!at || at[0] >= editor.rows || at[1] >= editor.columns) {
      box.textContent = 'セルにカーソルを合わせると、価値 V(s) と行動価値 Q(s, a) を表示します。';
      return;
    }
    const [r, c] = at;
    const kind = editor.grid[r][c];
    const lines = [];
    lines.push(element('div', '', `セル (row ${r}, column ${c}) — ${KINDS.get(kind)}`
      + (editor.isStart(r, c) ? ' / Start' : '')));
    const result = state.result;
    const frame = currentFrame();
    if (kind === BLOCK) {
      lines.push(element('div', '', '入れないセルです。ぶつかるとその場に留まります。'));
      box.replaceChildren(...lines);
      return;
    }
    const reward = formatReward(editor.rewards[r][c]);
    const changed = editor.isCustom(r, c) ? '（標準から変更 custom）' : '';
    if (kind === TREASURE || kind === DANGER) {
      lines.push(element('div', '', `ここに着くと報酬 ${reward} でエピソード終了。${changed}`));
      box.replaceChildren(...lines);
      return;
    }
    lines.push(element('div', '', `ここに着いたときの報酬 R = ${reward}${changed}`));
    if (result) {
      lines.push(element('div', '', `V(s) = ${frame.values[r][c].toFixed(4)}`
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

  // The convergence chart: max |ΔV| of each step on a log scale, the stopping threshold,
  // Policy Iteration's improvements, and a dot on the step shown.
  function drawChart() {
    const { ctx, width, height } = window.Maze.prepareCanvas(els.chart, state.chartSizes);
    const result = state.result;
    const frames = state.frames;
    const policy = Boolean(result && result.plan === 'policy');
    els.chartTitle.textContent = policy
      ? 'max |ΔV| per evaluation sweep, improvements marked'
      : 'max |ΔV| per iteration';
    delete els.chart.dataset.labels;
    if (!result || frames.length < 2) {
      ctx.fillText('計画すると、反復ごとの max|ΔV| をここに描きます。', 12, height / 2);
      return;
    }
    const deltas = frames.map((f) => (f.delta === null ? null : Math.log10(Math.max(f.delta, 1e-8))));
    const known = deltas.filter((d) => d !== null);
    const high = Math.max(0, Math.ceil(Math.max(...known)));
    const low = Math.min(-5, Math.floor(Math.min(...known)));
    const n = frames.length - 1;
    const chart = { ctx, width, height, left: 44, right: width - 10, top: 12, bottom: height - 22 };
    const { left, right, top, bottom } = chart;
    chart.x = (i) => left + ((right - left) * (n === 1 ? 0.5 : (i - 1) / (n - 1)));
    chart.y = (lg) => top + ((bottom - top) * (high - lg)) / (high - low);

    drawChartAxes(chart, low, high, policy ? 'step →' : 'iteration →', n);
    drawThreshold(chart, result.threshold, policy);
    if (policy) drawImprovements(chart, frames);
    drawDeltas(chart, deltas);
  }

  // Grid lines at every power of ten, and the step axis' labels.
  function drawChartAxes({ ctx, height, left, right, y }, low, high, axisName, n) {
    ctx.strokeStyle = '#e3e7ed';
    ctx.lineWidth = 1;
    for (let e = low; e <= high; e += 1) {
      ctx.beginPath();
      ctx.moveTo(left, y(e));
      ctx.lineTo(right, y(e));
      ctx.stroke();
      ctx.fillText(`1e${e}`, 4, y(e) + 4);
    }
    ctx.fillText(axisName, (left + right) / 2 - 30, height - 6);
    ctx.fillText('1', left - 2, height - 6);
    ctx.fillText(String(n), right - 12, height - 6);
  }

  // The stopping threshold: Value Iteration stops below it; for Policy Iteration it ends
  // each evaluation (the plan itself stops when an improvement changes nothing).
  function drawThreshold({ ctx, left, right, y }, threshold, policy) {
    const line = y(Math.log10(threshold));
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = '#1a9850';
    ctx.beginPath();
    ctx.moveTo(left, line);
    ctx.lineTo(right, line);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#1a9850';
    ctx.fillText(policy ? `評価の停止 threshold ${threshold}` : `threshold ${threshold}`,
      left + 4, line - 4);
  }

  // Policy Iteration's improvements: a vertical line, with how many cells changed their
  // action. Late improvements come close together, so labels are placed from the last one
  // ("stable", which always shows) leftwards, each only where it clears the one after it.
  function drawImprovements({ ctx, right, top, bottom, x }, frames) {
    ctx.strokeStyle = '#7c3aed';
    ctx.fillStyle = '#7c3aed';
    const labels = [];
    frames.forEach((f, i) => {
      if (f.kind !== 'improvement') return;
      ctx.globalAlpha = i === state.frame ? 1 : 0.55;
      ctx.beginPath();
      ctx.moveTo(x(i), top);
      ctx.lineTo(x(i), bottom);
      ctx.stroke();
      const text = f.changed === 0 ? 'stable' : `Δπ ${f.changed}`;
      labels.push({ text, i, width: ctx.measureText(text).width });
    });
    const placed = [];
    let limit = right; // the next label to the right starts here
    labels.reverse().forEach((label) => {
      const at = Math.min(x(label.i) + 2, limit - label.width);
      if (at < x(label.i) - label.width) return; // too far from its line: leave it out
      ctx.globalAlpha = label.i === state.frame ? 1 : 0.55;
      ctx.fillText(label.text, at, top + 8);
      placed.push([Math.round(at), Math.round(at + label.width), label.text]);
      limit = at - 4;
    });
    ctx.globalAlpha = 1;
    els.chart.dataset.labels = JSON.stringify(placed.reverse());
  }

  // The line of log10 max |ΔV|, and a dot on the step shown.
  function drawDeltas({ ctx, x, y }, deltas) {
    ctx.strokeStyle = '#2457c5';
    ctx.lineWidth = 2;
    ctx.beginPath();
    let drawing = false;
    deltas.forEach((lg, i) => {
      if (i === 0 || lg === null) {
        drawing = false; // an improvement starts a new evaluation: break the line there
        return;
      }
      if (drawing) ctx.lineTo(x(i), y(lg));
      else ctx.moveTo(x(i), y(lg));
      drawing = true;
    });
    ctx.stroke();

    const current = deltas[state.frame];
    if (state.frame > 0 && current !== null) {
      ctx.fillStyle = '#ffb000';
      ctx.beginPath();
      ctx.arc(x(state.frame), y(current), 5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  // ---------------------------------------------------------------- save and load

  function saveMaze() {
    // The rewards are saved only when some cell's differs from its kind's default.
    const text = window.Maze.mazeText({
      grid: editor.grid, rewards: editor.rewards, prob: readParameter(els.prob),
      gamma: readParameter(els.gamma),
      withRewards: editor.anyCustom() || editor.stepReward !== DEFAULT_STEP_REWARD,
    });
    window.Maze.download(text, 'maze.json');
    showMessage('maze.json をダウンロードフォルダーに保存しました (saved to Downloads): '
      + 'python DP/vectorized_planner.py --grid ~/Downloads/maze.json でも解けます。', 'info',
    els.fileButtons);
  }

  // The same checks as the server's (maze.js), within this page's bounds.
  const parseMaze = (text) => window.Maze.parseMaze(text, MAX_SIDE, REWARD_LIMIT);

  async function loadMaze(file) {
    try {
      const maze = parseMaze(await file.text());
      const step = maze.rewards ? commonOrdinaryReward(maze.grid, maze.rewards) : DEFAULT_STEP_REWARD;
      editor.setMaze(maze.grid, maze.rewards, step);
      els.stepReward.value = String(editor.stepReward);
      if (maze.prob !== null) els.prob.value = String(maze.prob);
      if (maze.gamma !== null) els.gamma.value = String(maze.gamma);
      showParameters();
      dropResult(false);
      buildGrid();
      selectionChanged();
      clearMessage();
      setStatus(`${file.name} を読み込みました (${editor.rows} × ${editor.columns}).`);
      if (els.live.checked && state.lastPlan) scheduleLiveRun();
    } catch (error) {
      showMessage(`${file.name} を読み込めませんでした: ${error.message}`, 'error', els.fileButtons);
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
    els.stepReward.value = String(DEFAULT_STEP_REWARD);
    editor = new window.Maze.Editor({
      element: els.grid,
      pointerArea: window,
      grid: SAMPLE_GRID,
      onChange: (what) => {
        if (what === 'kind') selectionChanged();
        gridChanged();
      },
      onSelect: () => {
        selectionChanged();
        render();
      },
      onHover: hoverChanged,
      onRefused: (text) => showMessage(text, 'info', els.editSlot),
    });

    els.draw.addEventListener('click', drawNewGrid);
    [els.rows, els.columns].forEach((input) => input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') drawNewGrid();
    }));
    kindButtons.forEach((button) => button.addEventListener('click', () => {
      editor.setKind(Number(button.dataset.kind));
    }));
    els.setReward.addEventListener('click', setRewardOfSelection);
    els.reward.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') setRewardOfSelection();
    });
    els.stepReward.addEventListener('change', stepRewardChanged);
    viewInputs.forEach((input) => input.addEventListener('change', () => {
      state.view = input.checked ? input.value : state.view;
      render();
    }));
    runButtons.forEach((button) => button.addEventListener('click', () => run(button.dataset.plan)));
    [els.prob, els.gamma].forEach((input) => {
      input.addEventListener('input', showParameters);
      input.addEventListener('change', parametersChanged);
    });
    els.live.addEventListener('change', () => {
      if (els.live.checked && state.lastPlan && !state.result) scheduleLiveRun();
    });

    els.first.addEventListener('click', () => { stopPlayback(); showFrame(0); });
    els.prev.addEventListener('click', () => { stopPlayback(); showFrame(state.frame - 1); });
    els.next.addEventListener('click', () => { stopPlayback(); showFrame(state.frame + 1); });
    els.last.addEventListener('click', () => {
      stopPlayback();
      if (state.result) showFrame(state.frames.length - 1);
    });
    els.play.addEventListener('click', togglePlay);
    els.frame.addEventListener('input', () => {
      const wanted = Number(els.frame.value); // read it before stopPlayback redraws the slider
      stopPlayback();
      showFrame(wanted);
    });
    els.stepSweep.addEventListener('click', () => { stopPlayback(); showFrame(state.frame + 1); });
    els.stepImprove.addEventListener('click', () => {
      stopPlayback();
      const next = nextImprovement();
      if (next >= 0) showFrame(next);
    });

    els.walk.addEventListener('click', walkOnce);
    els.walkMany.addEventListener('click', walkMany);
    els.seed.addEventListener('change', () => {
      state.rng = null;
      if (readSeed() !== null) clearMessage();
    });

    window.Maze.wireFileButtons(saveMaze, loadMaze, clearMessage);
    window.Maze.onResize(() => {
      applyCellSize();
      state.chartSizes.clear();
      drawChart();
    });

    buildGrid();
    selectionChanged();
    setStatus('迷路を編集して、Value Iteration か Policy Iteration を押してください (edit the maze, then plan).');
    document.body.dataset.ready = 'true';
  }

  start();
})();
