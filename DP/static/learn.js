/*
 * Day3 page (/learn): the book's learners (EL/) learn the maze on the server, and this page
 * draws what they stream over a WebSocket (DP/learning_socket.py): every episode's reward,
 * the learner's Q table after it, how often each cell was visited, the path of the last
 * episode, and how far its values still are from Value Iteration's V*.
 *
 * Plain JavaScript, no libraries, no build step. The maze editor and the maze JSON are those
 * of maze.js (the same rules and file as the Day2 page). Two learners can run side by side:
 * each has a socket of its own, its own settings (ε, α, λ, episodes...), the same maze and seed.
 * While they learn, ε, α, λ and the maze (same size) change from the next episode on ("tune"
 * and "maze"); the learners keep their Q tables. A new size or γ starts them again.
 */
(() => {
  'use strict';

  const M = window.Maze;
  const page = document.body.dataset;
  const MAX_SIDE = Number(page.maxSide) || 20;
  const REWARD_LIMIT = Number(page.rewardLimit) || 10;
  const MAX_EPISODES = Number(page.maxEpisodes) || 10000;
  const ARROW_NAMES = ['up', 'down', 'left', 'right']; // the server's order, as /plan's
  const SYMBOLS = ['↑', '↓', '←', '→'];
  // The four triangles of a cell, in a 1 x 1 box, in the same order.
  const TRIANGLES = ['0,0 1,0 0.5,0.5', '0,1 1,1 0.5,0.5', '0,0 0,1 0.5,0.5', '1,0 1,1 0.5,0.5'];
  const TIE = 1e-9;
  const { element, showMessage } = M;
  const RUN_COLOURS = { a: '#2457c5', b: '#e8590c' };
  const SVG = 'http://www.w3.org/2000/svg';
  const SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]];
  // The cliff: the short way runs along the Danger, the safe one a row higher. With moves
  // that go where they are meant and ε = 0.3, Q-learning takes the first, SARSA the second.
  const CLIFF = [[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0],
    [0, -1, -1, -1, -1, -1, -1, 1]];
  const ROOMS = [
    [0, 0, 0, 0, 9, 0, 0, 0, 0, 1], [0, 0, 0, 0, 9, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, -1, 0, 0], [0, 0, 0, 0, 9, 0, 0, 0, 0, 0],
    [9, 9, 0, 9, 9, 9, 9, 0, 9, 9], [0, 0, 0, 0, 9, 0, 0, 0, 0, 0],
    [0, 0, -1, 0, 9, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, -1, 0],
    [0, 0, 0, 0, 9, 0, 0, 0, 0, 0], [0, 0, 0, 0, 9, 0, 0, 0, 0, 0],
  ];
  // An example sets the maze and, for the learners, what differs from their defaults: the
  // cliff's ε = 0.3 (for whichever learner is chosen while it is on screen), the rooms' episodes
  // (at least 1000, more where the learner's default is more).
  const PRESETS = {
    sample: { grid: SAMPLE, prob: 0.8, settings: {} },
    cliff: { grid: CLIFF, prob: 1, settings: { epsilon: 0.3 }, learners: ['q_learning', 'sarsa'] },
    rooms: { grid: ROOMS, prob: 0.8, settings: { episodes: 1000 } },
  };
  const STATUS_TEXT = {
    idle: '接続中…', starting: '準備中 (starting)', paused: '一時停止中 (paused)',
    running: '学習中 (running)', done: '完了 (done)', stopped: '停止 (stopped)',
    failed: 'エラーで停止 (failed)', lost: '接続が切れました (disconnected)',
  };
  // Each learner's settings: the input's id prefix, the learner's default in the catalogue,
  // whether it may change while the learner runs ("tune"), and the check of a typed value.
  const SETTINGS = {
    epsilon: { id: 'epsilon', live: true, uses: (info) => info.uses_epsilon, low: 0, high: 1,
      words: 'ε は 0 から 1 (epsilon from 0 to 1)' },
    learning_rate: { id: 'learning-rate', live: true, uses: (info) => info.uses_learning_rate,
      low: 0, high: 1, above: true, words: '学習率は 0 より大きく 1 以下 (learning rate in (0, 1])' },
    lambda: { id: 'lambda', live: true, uses: (info) => info.lambda !== null, low: 0, high: 1,
      words: 'λ は 0 から 1 (lambda from 0 to 1)' },
    planning_steps: { id: 'planning-steps', live: false, uses: (info) => info.planning_steps !== null,
      low: 0, high: Number(page.maxPlanningSteps) || 200, integer: true,
      words: '計画ステップは 0 以上の整数 (planning steps)' },
    episodes: { id: 'episodes', live: false, uses: () => true, low: 1, high: MAX_EPISODES,
      integer: true, words: `エピソード数は 1 から ${MAX_EPISODES} の整数 (episodes)` },
  };
  const SETTING_NAMES = { epsilon: 'ε', learning_rate: 'α', lambda: 'λ', planning_steps: '計画ステップ',
    episodes: 'エピソード数' };

  const $ = (id) => document.getElementById(id);
  const els = {
    rows: $('rows'), columns: $('columns'), draw: $('draw'), preset: $('preset'),
    reward: $('reward'), setReward: $('set-reward'), stepReward: $('step-reward'),
    prob: $('prob'), probOut: $('prob-out'), gamma: $('gamma'), gammaOut: $('gamma-out'),
    learnerA: $('learner-a'), learnerB: $('learner-b'), compare: $('compare'),
    settings: $('settings'), settingsNote: $('settings-note'), changeNote: $('change-note'),
    seed: $('seed'), learnerNote: $('learner-note'),
    loadFile: $('load-file'), message: $('message'),
    // Where a message about each control is shown (maze.js showMessage): right after these.
    controls: $('learn-controls'), fileButtons: $('file-buttons'), editSlot: $('edit-bar-slot'),
    rewardRow: $('reward-row'), stepRewardRow: $('step-reward-row'),
    status: $('status'), start: $('start'), pause: $('pause'), step: $('step'),
    reset: $('reset'), speed: $('speed'),
    showArrows: $('show-arrows'), showPath: $('show-path'), showRoute: $('show-route'),
    showVisits: $('show-visits'),
    boards: $('boards'), boxB: $('box-b'),
    legendLow: $('legend-low'), legendHigh: $('legend-high'), legendNote: $('legend-note'),
    chart: $('chart'), gapChart: $('gap-chart'), cellInfo: $('cell-info'),
  };
  const kindButtons = Array.from(document.querySelectorAll('button.kind'));
  // inputs.a.epsilon is A's ε input, and so on.
  const inputs = Object.fromEntries(['a', 'b'].map((key) => [key, Object.fromEntries(
    Object.entries(SETTINGS).map(([name, setting]) => [name, $(`${setting.id}-${key}`)]))]));

  const state = {
    editor: null,
    catalogue: null,  // the learners, as the server's "ready" lists them
    cellSize: 64,
    compare: false,
    hover: null,
    renderPending: false,
    chartSizes: new Map(),
    lost: false,      // the server went away: say so until a new socket is ready
    preset: null,     // the example on screen (its settings apply to any learner chosen)
  };

  // ---------------------------------------------------------------- helpers

  function svgElement(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attributes).forEach(([name, value]) => node.setAttribute(name, value));
    return node;
  }

  function clearMessage() {
    els.message.hidden = true;
  }

  function readNumber(input, low, high, integer = false) {
    const text = input.value.trim();
    const value = Number(text);
    if (text === '' || !Number.isFinite(value) || value < low || value > high) return null;
    if (integer && !Number.isInteger(value)) return null;
    return value;
  }

  function readSlider(input) {
    const value = Number(input.value);
    return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
  }

  function compactCount(n) {
    if (n >= 10000) return `${Math.round(n / 1000)}k`;
    if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
    return String(n);
  }

  const mean = (values) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

  // ---------------------------------------------------------------- one learner's stream

  class Run {
    constructor(key) {
      this.key = key;
      this.socket = null;
      this.ready = false;
      this.queue = [];
      this.clear();
    }

    clear() {
      this.started = null;   // the server's "started": learner, settings, V* reference
      this.status = 'idle';
      this.episode = 0;
      this.rewards = [];     // the reward of every episode so far
      this.ends = [];        // how each ended: treasure, danger, limit
      this.gaps = [];        // [episode, mean |V - V*|]
      this.q = null;         // [row][column][action]
      this.values = null;
      this.visits = null;
      this.path = null;      // the states of the last episode
      this.route = null;     // the greedy route from the start
      this.changes = [];     // [episode, what] of every change applied while learning
      this.reaches = false;
      this.freshPath = false;
      this.freshRoute = false;
    }

    get label() { return this.key === 'a' ? 'A' : 'B'; }

    // The stream belongs to the maze on screen only when the sizes agree.
    fits(editor) {
      return Boolean(this.started && this.started.rows === editor.rows
        && this.started.columns === editor.columns);
    }

    connect() {
      const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
      const socket = new WebSocket(`${scheme}://${window.location.host}/learn/socket`);
      this.socket = socket;
      socket.addEventListener('message', (event) => {
        if (this.socket === socket) this.receive(JSON.parse(event.data));
      });
      socket.addEventListener('close', (event) => {
        if (this.socket !== socket) return; // closed on purpose
        this.socket = null;
        this.ready = false;
        this.queue = [];
        if (event.code === 1013 || event.code === 1000) {
          this.status = 'stopped'; // the server was full, or the page's time was up: said already
        } else {
          // The server stopped (1001) or went away (1006): say so where the controls are.
          this.status = 'lost';
          state.lost = true;
          showMessage(`サーバーとの接続が切れました (${event.code})。python DP/run_server.py が動いているか`
            + '確かめてから「学習スタート」を押すと、つなぎ直します (the connection to the server was lost: '
            + 'start the server, then press start to connect again).', 'error', els.controls);
        }
        scheduleRender();
      });
    }

    disconnect() {
      const socket = this.socket;
      this.socket = null;
      this.ready = false;
      this.queue = [];
      if (socket) socket.close(1000, 'not compared any more');
      this.clear();
    }

    send(command) {
      if (!this.socket) this.connect();
      if (this.ready) this.socket.send(JSON.stringify(command));
      else this.queue.push(command); // sent when the server says it is ready
    }

    receive(message) {
      if (message.type === 'ready') {
        this.ready = true;
        if (state.lost && activeRuns().every((run) => run.ready || run.socket === null)) {
          state.lost = false;
          clearMessage();
        }
        state.catalogue = message.learners;
        this.queue.splice(0).forEach((command) => this.socket.send(JSON.stringify(command)));
        socketReady();
      } else if (message.type === 'started') {
        this.clear();
        this.started = message;
        this.status = 'starting';
        // Before the first episode every value is 0: the gap is the mean |V*| itself.
        if (message.reference) this.gaps.push([0, initialGap(message.reference)]);
      } else if (message.type === 'changed') {
        this.changed(message);
      } else if (message.type === 'progress') {
        this.progress(message);
      } else if (message.type === 'error') {
        showMessage(`${this.label}: サーバーが受け付けませんでした (${message.status}): ${message.error}`,
          'error', els.controls);
      }
      scheduleRender();
    }

    progress(message) {
      this.status = message.status;
      this.episode = message.episode;
      message.episodes.forEach((episode) => {
        this.rewards.push(episode.reward);
        this.ends.push(episode.end);
      });
      if (message.q) this.q = message.q;
      if (message.values) this.values = message.values;
      if (message.visits) this.visits = message.visits;
      if (message.path) {
        this.path = message.path;
        this.freshPath = true;
      }
      if (message.route) {
        this.route = message.route;
        this.freshRoute = true;
        this.reaches = message.route_reaches_treasure;
      }
      if (message.gap !== undefined) this.gaps.push([this.episode, message.gap]);
    }

    // A change took effect from `message.episode` on: mark it, and say so.
    changed(message) {
      const words = Object.entries(message.settings).map(([name, value]) => `${SETTING_NAMES[name]} = ${value}`);
      if (message.maze) {
        words.push('新しい迷路');
        if (this.started) this.started.reference = message.reference;
      }
      this.changes.push([message.episode, words.join('・')]);
      const note = `${this.label}: エピソード ${message.episode} から ${words.join('・')}で学んでいます`
        + `${message.maze ? '（学んだ Q はそのまま）' : ''} (changed from episode ${message.episode}).`;
      (message.maze ? els.changeNote : els.settingsNote).textContent = note;
    }

    // Whether a change may still take effect: the learner is there, with episodes to come.
    get changeable() {
      return this.learning && Boolean(this.started) && this.episode < this.started.settings.episodes;
    }

    get active() { return this.status === 'running' || this.status === 'starting'; }

    get learning() {
      return ['running', 'paused', 'starting'].includes(this.status);
    }
  }

  // The mean |V*(s)| over the cells where the agent acts (Treasure, Danger and Blocks have 0).
  function initialGap(reference) {
    const acting = [];
    state.editor.grid.forEach((row, r) => row.forEach((kind, c) => {
      if (kind === M.ORDINARY) acting.push(Math.abs(reference[r][c]));
    }));
    return mean(acting);
  }

  const runs = { a: new Run('a'), b: new Run('b') };
  const activeRuns = () => (state.compare ? [runs.a, runs.b] : [runs.a]);

  // ---------------------------------------------------------------- a board (one maze drawing)

  class Board {
    constructor(key, grid) {
      this.key = key;
      this.element = grid;
      this.cells = [];
    }

    build(rows, columns) {
      const grid = this.element;
      const rowElements = M.resetBoard(grid, rows, columns);
      this.cells = [];
      for (let r = 0; r < rows; r += 1) {
        const line = [];
        for (let c = 0; c < columns; c += 1) {
          const root = M.cellElement(grid, r, c);
          const tris = svgElement('svg', { class: 'tris', viewBox: '0 0 1 1', preserveAspectRatio: 'none',
            'aria-hidden': 'true' });
          const triangles = TRIANGLES.map((points, a) => {
            const tri = svgElement('polygon', { class: `tri ${ARROW_NAMES[a]}`, points });
            tris.append(tri);
            return tri;
          });
          const value = element('span', 'value');
          const label = element('span', 'label');
          const arrows = ARROW_NAMES.map((name) => element('span', `arrow ${name}`));
          const visits = element('span', 'visits');
          root.append(tris, value, label, ...arrows, visits);
          if (r === rows - 1 && c === 0) root.append(element('span', 'start', 'S'));
          rowElements[r].append(root);
          line.push({ root, triangles, value, label, visits, shown: { fills: [] } });
        }
        this.cells.push(line);
      }
      this.layer = svgElement('svg', { class: 'path-layer', 'aria-hidden': 'true' });
      this.routeLine = svgElement('polyline', { class: `route ${this.key}`, points: '' });
      this.line = svgElement('polyline', { class: 'episode', points: '' });
      this.agent = svgElement('circle', { r: '0', cx: '0', cy: '0' });
      this.layer.append(this.routeLine, this.line, this.agent);
      grid.append(this.layer);
      this.animation = null;
    }

    centre(s, columns) {
      const size = state.cellSize;
      const r = Math.floor(s / columns);
      const c = s % columns;
      return [2 + c * (size + 2) + size / 2, 2 + r * (size + 2) + size / 2];
    }

    // The path of the last episode as a line, the agent where it ended. At slow speeds the
    // agent walks it step by step within the time the episode has on screen.
    drawPath(run, editor, animate) {
      if (this.animation) window.cancelAnimationFrame(this.animation);
      this.animation = null;
      const grid = this.element;
      const width = grid.clientWidth;
      const height = grid.clientHeight;
      this.layer.setAttribute('width', String(width));
      this.layer.setAttribute('height', String(height));
      this.layer.setAttribute('viewBox', `0 0 ${width} ${height}`);
      const fits = run.fits(editor);
      const route = fits && run.route && run.episode > 0 ? run.route : [];
      this.routeLine.setAttribute('points', route.map((s) => this.centre(s, editor.columns).join(','))
        .join(' '));
      if (!run.path || !fits) {
        this.line.setAttribute('points', '');
        this.agent.setAttribute('r', '0');
        return;
      }
      const points = run.path.map((s) => this.centre(s, editor.columns));
      const end = run.ends[run.ends.length - 1] || 'limit';
      this.agent.setAttribute('class', end);
      this.agent.setAttribute('r', String(Math.max(3, state.cellSize * 0.16)));
      const show = (k) => {
        const shown = points.slice(0, k);
        this.line.setAttribute('points', shown.map((p) => p.join(',')).join(' '));
        const [x, y] = shown[shown.length - 1];
        this.agent.setAttribute('cx', String(x));
        this.agent.setAttribute('cy', String(y));
      };
      if (!animate || points.length < 2) {
        show(points.length);
        return;
      }
      const duration = Math.min(2000, 800 / Math.max(1, speed()));
      // The clock starts at the first frame's own timestamp: a frame's timestamp may be
      // earlier than performance.now() read here, and the walk must never be empty.
      let begin = null;
      const frame = (now) => {
        if (begin === null) begin = now;
        const k = Math.min(points.length, 1 + Math.floor(((now - begin) / duration) * points.length));
        show(Math.max(1, k));
        this.animation = k < points.length ? window.requestAnimationFrame(frame) : null;
      };
      this.animation = window.requestAnimationFrame(frame);
    }

    paint(editor, run, scale, selection) {
      const fits = run && run.fits(editor);
      const preferences = Boolean(fits && run.started.preferences);
      for (let r = 0; r < editor.rows; r += 1) {
        for (let c = 0; c < editor.columns; c += 1) {
          this.paintCell(editor, r, c, fits ? run : null, scale, preferences, selection);
        }
      }
    }

    paintCell(editor, r, c, run, scale, preferences, selection) {
      const cell = this.cells[r][c];
      const { kind, classes, value: valueText, label: labelText } = M.cellLook(editor, r, c);
      let visitsText = '';
      let fills = null;
      const words = []; // what a screen reader hears besides the cell's place and kind
      if (kind === M.ORDINARY) {
        classes.push('acting');
        const q = run && run.q ? run.q[r][c] : null;
        const visits = run && run.visits ? run.visits[r][c] : 0;
        if (run && run.visits) visitsText = compactCount(visits);
        if (q && visits > 0) {
          fills = preferences ? policyFills(q) : q.map((v) => M.colourOf(v, scale).css);
          const best = greedyActions(q);
          best.forEach((a) => classes.push(`go-${ARROW_NAMES[a]}`));
          if (!preferences) words.push(`max Q = ${M.formatValue(Math.max(...q))}`);
          words.push(M.arrowWords(best.reduce((bits, a) => bits | (1 << a), 0), 'greedy'));
        } else {
          classes.push('unvisited');
        }
        if (run && run.visits) words.push(`訪問 ${visits} 回`);
      }
      classes.push(...editor.cellClasses(r, c, selection));
      const shown = cell.shown;
      const className = classes.join(' ');
      if (shown.className !== className) cell.root.className = shown.className = className;
      if (shown.value !== valueText) cell.value.textContent = shown.value = valueText;
      if (shown.label !== labelText) cell.label.textContent = shown.label = labelText;
      if (shown.visits !== visitsText) cell.visits.textContent = shown.visits = visitsText;
      const name = M.cellName(editor, r, c, words.filter(Boolean).join(', '));
      if (shown.name !== name) cell.root.setAttribute('aria-label', shown.name = name);
      const chosen = selection && editor.isSelected(r, c) ? 'true' : 'false';
      if (shown.selected !== chosen) cell.root.setAttribute('aria-selected', shown.selected = chosen);
      cell.triangles.forEach((tri, a) => {
        const fill = fills ? fills[a] : '';
        if (shown.fills[a] !== fill) {
          tri.style.fill = fill;
          shown.fills[a] = fill;
        }
      });
    }
  }

  // Every action whose value is the largest (ties: all of them); none while all four tie,
  // since then nothing has been learned about the cell yet.
  function greedyActions(q) {
    const best = Math.max(...q);
    const actions = [0, 1, 2, 3].filter((a) => q[a] >= best - TIE);
    return actions.length === 4 ? [] : actions;
  }

  // The Actor's preferences as the policy they make, π(a|s) = softmax: green where an action
  // is more likely than the uniform 1/4, red where less.
  function softmax(preferences) {
    const top = Math.max(...preferences);
    const weights = preferences.map((p) => Math.exp(p - top));
    const total = weights.reduce((a, b) => a + b, 0);
    return weights.map((w) => w / total);
  }

  function policyFills(preferences) {
    return softmax(preferences).map((p) => M.colourOf(p - 0.25, 0.75).css);
  }

  const boards = { a: new Board('a', $('grid-a')), b: new Board('b', $('grid-b')) };

  // ---------------------------------------------------------------- drawing

  // Under the maze, the legend stays in the window.
  const BELOW_GRID = 44;

  function cellSize(rows, columns) {
    // Each board must fit its share of the stage's width (no sideways scrolling, on a phone
    // too) and, on a wide screen, the window's height under the controls, so that the maze
    // and the buttons that steer the learning are seen together. A cell is its size plus 2 px.
    const two = state.compare && window.innerWidth > 760;
    const width = Math.min(760, (els.boards.clientWidth - (two ? 12 : 0)) / (two ? 2 : 1) - 8);
    const height = M.heightForBoard(boards.a.element.parentElement, BELOW_GRID);
    return M.fitCellSize(width, height, rows, columns);
  }

  function applyCellSize() {
    const size = cellSize(state.editor.rows, state.editor.columns);
    state.cellSize = size;
    Object.values(boards).forEach((board) => M.applyCellSize(board.element, size));
  }

  function buildBoards() {
    const { rows, columns } = state.editor;
    els.rows.value = String(rows);
    els.columns.value = String(columns);
    Object.values(boards).forEach((board) => board.build(rows, columns));
    applyCellSize();
    scheduleRender();
  }

  // The colour scale spans the largest |reward| and the largest |Q| on screen, shared by the
  // two boards so that their colours compare.
  function colourScale() {
    const editor = state.editor;
    let biggest = 0;
    editor.grid.forEach((row, r) => row.forEach((kind, c) => {
      if (kind !== M.BLOCK) biggest = Math.max(biggest, Math.abs(editor.rewards[r][c]));
    }));
    activeRuns().forEach((run) => {
      if (!run.q || !run.fits(editor) || run.started.preferences) return;
      run.q.forEach((row) => row.forEach((q) => q.forEach((v) => {
        biggest = Math.max(biggest, Math.abs(v));
      })));
    });
    return biggest > 0 ? biggest : 1;
  }

  function scheduleRender() {
    if (state.renderPending) return;
    state.renderPending = true;
    window.requestAnimationFrame(() => {
      state.renderPending = false;
      render();
    });
  }

  function render() {
    const editor = state.editor;
    const scale = colourScale();
    const slow = speed() > 0 && speed() <= 3;
    activeRuns().forEach((run) => {
      const board = boards[run.key];
      board.paint(editor, run, scale, run.key === 'a');
      if (run.freshPath || run.freshRoute || !run.path) {
        board.drawPath(run, editor, slow && run.active);
      }
      run.freshRoute = false;
      run.freshPath = false;
    });
    ['a', 'b'].forEach((key) => {
      const grid = boards[key].element;
      grid.classList.toggle('no-arrows', !els.showArrows.checked);
      grid.classList.toggle('no-path', !els.showPath.checked);
      grid.classList.toggle('no-route', !els.showRoute.checked);
      grid.classList.toggle('show-visits', els.showVisits.checked);
    });
    const active = editor.activeCellId();
    if (active) boards.a.element.setAttribute('aria-activedescendant', active);
    else boards.a.element.removeAttribute('aria-activedescendant');
    renderLegend(scale);
    renderStatus();
    renderButtons();
    renderCellInfo();
    drawRewardChart();
    drawGapChart();
  }

  function renderLegend(scale) {
    const preferences = activeRuns().some((run) => run.started && run.started.preferences);
    if (preferences && !state.compare) {
      els.legendLow.textContent = 'π 0';
      els.legendHigh.textContent = 'π 1';
      els.legendNote.textContent = '三角形の色 = 戦略 π(a|s)（白 = 1/4）　矢印 = いちばん好む行動';
    } else {
      els.legendLow.textContent = M.formatValue(-scale);
      els.legendHigh.textContent = `+${M.formatValue(scale)}`;
      els.legendNote.textContent = '三角形の色 = Q(s, a)　矢印 = いちばん大きい Q（greedy）'
        + (preferences ? '　Actor-Critic は π(a|s)' : '');
    }
  }

  // One learner's line under its board: [text, bold?] pieces, written as text nodes.
  function runSummary(run) {
    if (!run.started) return [[STATUS_TEXT[run.status] || '', false]];
    const parts = [['エピソード ', false], [String(run.episode), true],
      [` / ${run.started.settings.episodes}`, false]];
    const recent = run.rewards.slice(-50);
    if (recent.length) {
      const ends = run.ends.slice(-50);
      const share = (end) => Math.round((100 * ends.filter((e) => e === end).length) / ends.length);
      parts.push([` · 直近 ${recent.length} の平均報酬 `, false], [M.formatValue(mean(recent)), true],
        [` · Treasure ${share('treasure')}% · Danger ${share('danger')}%`, false]);
    }
    if (run.gaps.length) {
      parts.push([` · |V − V*| ${M.formatValue(run.gaps[run.gaps.length - 1][1])}`, false]);
    }
    if (run.route && run.episode > 0) parts.push([routeWords(run), false]);
    parts.push([` · ${STATUS_TEXT[run.status] || run.status}`, false]);
    return parts;
  }

  // Where the greedy route from S ends: the Treasure, or (the rewards may have been changed)
  // another cell that ends the episode, or nowhere yet (it goes round in circles).
  function routeWords(run) {
    const moves = run.route.length - 1;
    if (run.reaches) return ` · greedy: Treasure まで ${moves} 手`;
    const end = run.route[moves];
    const [r, c] = [Math.floor(end / state.editor.columns), end % state.editor.columns];
    const kind = state.editor.grid[r] && state.editor.grid[r][c];
    if (kind === M.DANGER) {
      return ` · greedy: Danger（報酬 ${M.formatReward(state.editor.rewards[r][c])}）まで ${moves} 手`;
    }
    return ' · greedy: まだ Treasure に着かない';
  }

  function renderStatus() {
    ['a', 'b'].forEach((key) => {
      const run = runs[key];
      const title = run.started ? run.started.title
        : (state.catalogue ? state.catalogue[learnerOf(key)].title : learnerOf(key));
      $(`title-${key}`).textContent = title;
      $(`status-${key}`).replaceChildren(...runSummary(run).map(([text, bold]) => (
        bold ? element('b', '', text) : document.createTextNode(text))));
    });
    const learning = activeRuns().filter((run) => run.learning);
    if (state.lost) {
      els.status.textContent = 'サーバーとの接続が切れました (disconnected)。サーバーを起動してから'
        + '「学習スタート」でつなぎ直せます。';
    } else if (!runs.a.ready) {
      els.status.textContent = 'サーバーに接続しています… (connecting)';
    } else if (learning.some((run) => run.status === 'running')) {
      els.status.textContent = state.compare
        ? '2 つのエージェントが同じ迷路・同じ seed で、それぞれの設定で学習しています (learning side by side).'
        : '学習中です。三角形の色と矢印が、経験から少しずつ変わっていきます (learning).';
    } else if (learning.length) {
      els.status.textContent = '一時停止中です。「1 エピソード」で 1 回ずつ進められます (paused).';
    } else if (activeRuns().every((run) => run.status === 'done')) {
      els.status.textContent = '学習が終わりました。設定を変えて、もう一度スタートできます (done).';
    }
  }

  function renderButtons() {
    const ready = activeRuns().every((run) => run.ready);
    const learning = activeRuns().filter((run) => run.learning);
    const running = learning.some((run) => run.status === 'running');
    // After a lost connection, start connects again.
    els.start.disabled = !runs.a.ready && !state.lost;
    els.pause.disabled = !ready || learning.length === 0;
    els.pause.firstChild.textContent = running ? '一時停止 ' : '再開 ';
    els.pause.lastElementChild.textContent = running ? 'pause' : 'resume';
    els.pause.dataset.action = running ? 'pause' : 'resume';
    els.step.disabled = !ready || learning.length === 0;
    renderSettings();
  }

  // Each learner's column of settings: a setting it does not have is disabled, and a row no
  // learner on screen has (λ, planning steps) is hidden.
  function renderSettings() {
    els.settings.classList.toggle('one', !state.compare);
    Object.entries(SETTINGS).forEach(([name, setting]) => {
      let anyone = false;
      ['a', 'b'].forEach((key) => {
        const info = state.catalogue && state.catalogue[learnerOf(key)];
        const has = !info || setting.uses(info);
        inputs[key][name].disabled = !has;
        if (has && (key === 'a' || state.compare)) anyone = true;
      });
      els.settings.querySelector(`tr[data-setting="${name}"]`).hidden = !anyone;
    });
  }

  function renderCellInfo() {
    const at = state.hover;
    const editor = state.editor;
    if (!at || at[0] >= editor.rows || at[1] >= editor.columns) {
      els.cellInfo.textContent = 'セルにカーソルを合わせると、Q(s, a)、V*(s)、訪問回数を表示します。';
      return;
    }
    const [r, c] = at;
    const kind = editor.grid[r][c];
    const lines = [`(${r}, ${c}) ${M.KINDS.get(kind)} — 報酬 R = ${M.formatReward(editor.rewards[r][c])}`];
    const table = element('table');
    const head = element('tr');
    head.append(element('th', '', ''), ...SYMBOLS.map((s) => element('th', '', s)),
      element('th', '', 'V'), element('th', '', 'V*'), element('th', '', '訪問'));
    table.append(head);
    activeRuns().forEach((run) => {
      if (!run.fits(editor) || kind !== M.ORDINARY) return;
      const q = run.q ? run.q[r][c] : null;
      const row = element('tr');
      row.append(element('td', `run-${run.key}`, run.started.title));
      const best = q ? greedyActions(q) : [];
      for (let a = 0; a < 4; a += 1) {
        row.append(element('td', best.includes(a) ? 'best' : '', q ? M.formatValue(q[a]) : '–'));
      }
      const v = run.values ? run.values[r][c] : null;
      const reference = run.started.reference ? run.started.reference[r][c] : null;
      row.append(element('td', '', v === null ? '–' : M.formatValue(v)),
        element('td', '', reference === null ? '–' : M.formatValue(reference)),
        element('td', '', run.visits ? String(run.visits[r][c]) : '0'));
      table.append(row);
    });
    els.cellInfo.replaceChildren(element('div', '', lines[0]));
    if (table.rows.length > 1) els.cellInfo.append(table);
  }

  // ---------------------------------------------------------------- charts

  const prepareCanvas = (canvas) => M.prepareCanvas(canvas, state.chartSizes);

  function axes(frame, low, high, n, ylabel) {
    const { ctx, left, right, top, bottom, height } = frame;
    const y = (v) => top + ((bottom - top) * (high - v)) / (high - low || 1);
    const ticks = [low, (low + high) / 2, high];
    ctx.strokeStyle = '#e3e7ed';
    ctx.lineWidth = 1;
    ticks.forEach((v) => {
      ctx.beginPath();
      ctx.moveTo(left, y(v));
      ctx.lineTo(right, y(v));
      ctx.stroke();
      ctx.fillText(M.formatValue(v), 4, y(v) + 4);
    });
    if (low < 0 && high > 0) {
      ctx.strokeStyle = '#aab4c0';
      ctx.beginPath();
      ctx.moveTo(left, y(0));
      ctx.lineTo(right, y(0));
      ctx.stroke();
    }
    ctx.fillText('episode →', (left + right) / 2 - 24, height - 6);
    ctx.fillText('0', left - 2, height - 6);
    ctx.fillText(String(n), right - 6 * String(n).length, height - 6);
    ctx.fillText(ylabel, left, 11);
    return y;
  }

  function movingAverage(values, window) {
    const out = [];
    let sum = 0;
    values.forEach((v, i) => {
      sum += v;
      if (i >= window) sum -= values[i - window];
      out.push(sum / Math.min(i + 1, window));
    });
    return out;
  }

  function drawRewardChart() {
    const frame = prepareCanvas(els.chart);
    const { ctx, left, right, height } = frame;
    const shown = activeRuns().filter((run) => run.rewards.length);
    els.chart.dataset.points = String(shown.reduce((n, run) => n + run.rewards.length, 0));
    // How A's episodes ended (t, d, l: Treasure, Danger, the step limit) and from which
    // episodes its changes applied: what the chart shows, in words a test can read.
    els.chart.dataset.ends = runs.a.ends.map((end) => end[0]).join('');
    els.chart.dataset.changes = JSON.stringify(runs.a.changes);
    if (!shown.length) {
      ctx.fillText('学習を始めると、エピソードごとの報酬（合計）をここに描きます。', 12, height / 2);
      return;
    }
    const n = Math.max(...shown.map((run) => Math.max(run.rewards.length, run.started
      ? run.started.settings.episodes : 0)));
    const window = Math.max(5, Math.round(n / 40));
    const averages = shown.map((run) => movingAverage(run.rewards, window));
    // The axis spans the averages (and 0): the first episodes, which wander until the step
    // limit, would otherwise squeeze the interesting part. Single episodes beyond it are
    // drawn on its edge.
    const low = Math.min(0, ...averages.map((a) => Math.min(...a)));
    const high = Math.max(0.1, ...averages.map((a) => Math.max(...a)));
    const y = axes(frame, low, high, n, 'reward');
    const clip = (v) => y(Math.min(high, Math.max(low, v)));
    const x = (i) => left + ((right - left) * (i + 0.5)) / n;
    shown.forEach((run, k) => {
      const colour = RUN_COLOURS[run.key];
      // A dotted line where a change took effect (ε, α, λ or the maze), before that episode.
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1;
      ctx.setLineDash([3, 3]);
      run.changes.forEach(([episode]) => {
        ctx.beginPath();
        ctx.moveTo(x(episode - 1) - 0.5, frame.top);
        ctx.lineTo(x(episode - 1) - 0.5, frame.bottom);
        ctx.stroke();
      });
      ctx.setLineDash([]);
      // Every episode, faint: how much one episode's reward varies.
      ctx.globalAlpha = 0.22;
      ctx.fillStyle = colour;
      run.rewards.forEach((v, i) => ctx.fillRect(x(i) - 0.75, clip(v) - 0.75, 1.5, 1.5));
      ctx.globalAlpha = 1;
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.beginPath();
      averages[k].forEach((v, i) => {
        if (i === 0) ctx.moveTo(x(i), y(v));
        else ctx.lineTo(x(i), y(v));
      });
      ctx.stroke();
    });
    ctx.fillStyle = '#5b6775';
    ctx.fillText(`line: mean of ${window} episodes`, right - 150, 11);
  }

  function drawGapChart() {
    const frame = prepareCanvas(els.gapChart);
    const { ctx, left, right, height } = frame;
    const shown = activeRuns().filter((run) => run.gaps.length);
    els.gapChart.dataset.points = String(shown.reduce((n, run) => n + run.gaps.length, 0));
    if (!shown.length) {
      ctx.fillText('Value Iteration の V* との差を、学習の進み方に合わせて描きます。', 12, height / 2);
      return;
    }
    const n = Math.max(1, ...shown.map((run) => run.started.settings.episodes));
    const high = Math.max(0.01, ...shown.map((run) => Math.max(...run.gaps.map(([, g]) => g))));
    const y = axes(frame, 0, high, n, '|V − V*|');
    const x = (episode) => left + ((right - left) * episode) / n;
    shown.forEach((run) => {
      ctx.strokeStyle = RUN_COLOURS[run.key];
      ctx.lineWidth = 2;
      ctx.beginPath();
      run.gaps.forEach(([episode, gap], i) => {
        if (i === 0) ctx.moveTo(x(episode), y(gap));
        else ctx.lineTo(x(episode), y(gap));
      });
      ctx.stroke();
    });
  }

  // ---------------------------------------------------------------- commands

  const learnerOf = (key) => (key === 'a' ? els.learnerA.value : els.learnerB.value);
  const speed = () => Number(els.speed.value);
  const catalogueOf = (key) => (state.catalogue ? state.catalogue[learnerOf(key)] : null);

  // One setting of learner `key` as typed, checked; null when it is not a valid value.
  function readSetting(key, name) {
    const setting = SETTINGS[name];
    const value = readNumber(inputs[key][name], setting.low, setting.high, setting.integer);
    return value === null || (setting.above && value === setting.low) ? null : value;
  }

  function settingsRefused(problems) {
    showMessage(`設定を直してください: ${problems.join('、')}.`, 'error', els.settings);
  }

  // What learner `key` starts with: every setting it has, as typed (before the server has
  // listed the learners, only those every learner takes). `problems` collects what is wrong.
  function startSettings(key, problems) {
    const info = catalogueOf(key);
    const values = {};
    Object.entries(SETTINGS).forEach(([name, setting]) => {
      const has = info ? setting.uses(info) : !['lambda', 'planning_steps'].includes(name);
      if (!has) return;
      const value = readSetting(key, name);
      if (value === null) problems.push(`${runOf(key).label}: ${setting.words}`);
      else values[name] = value;
    });
    return values;
  }

  const runOf = (key) => runs[key];

  // A fresh learner on each board, with the maze and each learner's settings on screen; the
  // page's reset is the same, paused. `note` says why, next to the boards.
  function startLearning(paused, note = '') {
    const problems = [];
    const settings = Object.fromEntries(activeRuns().map((r) => [r.key, startSettings(r.key, problems)]));
    const seed = readNumber(els.seed, 0, 4294967295, true);
    if (seed === null) problems.push('seed は 0 から 4294967295 の整数 (seed)');
    if (problems.length) {
      settingsRefused(problems);
      return;
    }
    clearMessage();
    const editor = state.editor;
    activeRuns().forEach((r) => {
      r.send({
        type: 'start', learner: learnerOf(r.key), grid: editor.grid, rewards: editor.rewards,
        prob: readSlider(els.prob), gamma: readSlider(els.gamma), ...settings[r.key], seed,
        speed: speed(), paused,
      });
    });
    els.changeNote.textContent = note;
    els.settingsNote.textContent = '';
  }

  function control(type) {
    activeRuns().forEach((r) => r.send({ type }));
  }

  // Something the learners cannot go on with (another size, γ, another learner): every
  // learner starts again on the maze on screen, paused, and the page says why.
  function restart(note) {
    activeRuns().forEach((r) => r.clear());
    buildBoardsIfResized();
    startLearning(true, note);
    scheduleRender();
  }

  // The maze changed under the learners (cells, rewards or move probability; the same size).
  // Learners that have begun go on from their next episode with what they have learned, and
  // find their way in the new maze (as in reinforcejs); learners that have not begun, or
  // have finished, start again on it.
  function mazeChanged() {
    const editor = state.editor;
    const going = activeRuns().every((r) => r.changeable && r.episode > 0 && r.fits(editor));
    if (!going) {
      const finished = activeRuns().some((r) => r.status === 'done');
      restart(finished ? '学習は終わっていたので、新しい迷路で最初から学びます（一時停止中）'
        + '(the learners start again on the new maze, paused).' : '');
      return;
    }
    activeRuns().forEach((r) => r.send({
      type: 'maze', grid: editor.grid, rewards: editor.rewards, prob: readSlider(els.prob),
    }));
    els.changeNote.textContent = '迷路の変更は次のエピソードから効きます。エージェントは学んだ Q のまま、'
      + '新しい迷路で道を探し直します (the learners keep their Q and meet the new maze at their next episode).';
    scheduleRender();
  }

  function buildBoardsIfResized() {
    const cells = boards.a.cells;
    if (cells.length !== state.editor.rows || cells[0].length !== state.editor.columns) buildBoards();
  }

  // A setting typed for learner `key`: ε, α and λ go to a running learner at once and take
  // effect from its next episode; the others wait for the next start.
  function settingChanged(key, name) {
    const setting = SETTINGS[name];
    const value = readSetting(key, name);
    if (value === null) {
      settingsRefused([`${runOf(key).label}: ${setting.words}`]);
      return;
    }
    clearMessage();
    const who = state.compare ? `${runOf(key).label} の ` : '';
    const what = `${who}${SETTING_NAMES[name]} = ${value}`;
    const shown = key === 'a' || state.compare;
    if (setting.live && shown && runOf(key).changeable) {
      runOf(key).send({ type: 'tune', [name]: value });
      els.settingsNote.textContent = `${what} は次のエピソードから使われます (from the next episode).`;
    } else {
      els.settingsNote.textContent = `${what} は次の「学習スタート」か「リセット」から使われます `
        + '(at the next start).';
    }
  }

  // Learner `key`'s settings become its learner's defaults, with what the example on screen
  // sets (the cliff's ε = 0.3, the rooms' 1000 episodes at least).
  function useDefaults(key) {
    const info = catalogueOf(key);
    if (!info) return;
    const example = state.preset ? PRESETS[state.preset].settings : {};
    const fields = inputs[key];
    fields.epsilon.value = String(example.epsilon !== undefined ? example.epsilon : info.epsilon);
    fields.learning_rate.value = String(info.learning_rate);
    if (info.lambda !== null) fields.lambda.value = String(info.lambda);
    if (info.planning_steps !== null) fields.planning_steps.value = String(info.planning_steps);
    fields.episodes.value = String(Math.max(info.episodes, example.episodes || 0));
  }

  function setCompare(on, restartNow = true) {
    state.compare = on;
    els.compare.checked = on;
    els.learnerB.disabled = !on;
    els.boxB.hidden = !on;
    els.boards.classList.toggle('two', on);
    if (on) {
      runs.b.connect();
      if (restartNow) restart('2 つのエージェントを同じ迷路・同じ seed で、最初から学ばせます（一時停止中）。');
    } else {
      runs.b.disconnect();
    }
    applyCellSize();
    scheduleRender();
  }

  function learnerChanged(key) {
    useDefaults(key);
    describeLearners();
    const info = catalogueOf(key);
    restart(`${runOf(key).label} を ${info ? info.title : learnerOf(key)} にしたので、最初から学びます`
      + '（一時停止中）(a new learner starts, paused).');
  }

  function describeLearners() {
    const notes = activeRuns().map((r) => {
      const info = catalogueOf(r.key);
      if (!info) return '';
      const unused = [];
      if (!info.uses_epsilon) unused.push('ε（softmax で探索）');
      if (!info.uses_learning_rate) unused.push('学習率（1/N の平均）');
      const note = unused.length ? `: ${unused.join('、')} は使いません` : '';
      return `${r.label} = ${info.file}${note}`;
    }).filter(Boolean);
    els.learnerNote.textContent = notes.join('。 ');
  }

  function applyPreset(name) {
    const preset = PRESETS[name];
    if (!preset) return;
    state.preset = name;
    state.editor.setMaze(preset.grid, null, M.DEFAULT_STEP_REWARD);
    els.stepReward.value = String(M.DEFAULT_STEP_REWARD);
    els.prob.value = String(preset.prob);
    showParameters();
    if (preset.learners) {
      [els.learnerA.value, els.learnerB.value] = preset.learners;
    }
    useDefaults('a');
    useDefaults('b');
    els.seed.value = '0';
    buildBoards();
    if (preset.learners && !state.compare) setCompare(true, false);
    describeLearners();
    const title = els.preset.selectedOptions[0].textContent;
    restart(`例「${title}」で最初から学びます（一時停止中）。`);
    els.preset.value = '';
  }

  function drawNewGrid() {
    const rows = Number(els.rows.value);
    const columns = Number(els.columns.value);
    const ok = (n) => Number.isInteger(n) && n >= M.MIN_SIDE && n <= MAX_SIDE;
    if (!ok(rows) || !ok(columns)) {
      showMessage(`行と列は ${M.MIN_SIDE} から ${MAX_SIDE} の整数にしてください `
        + `(rows and columns must be whole numbers from ${M.MIN_SIDE} to ${MAX_SIDE}).`, 'error', els.draw);
      return;
    }
    clearMessage();
    state.preset = null;
    state.editor.setMaze(Array.from({ length: rows }, () => new Array(columns).fill(M.ORDINARY)), null);
    buildBoards();
    restart(`${rows} × ${columns} の新しい迷路で最初から学びます（一時停止中）(a new maze).`);
  }

  function showParameters() {
    els.probOut.textContent = readSlider(els.prob).toFixed(2);
    els.gammaOut.textContent = readSlider(els.gamma).toFixed(2);
  }

  function readRewardInput(input, near) {
    const value = readNumber(input, -REWARD_LIMIT, REWARD_LIMIT);
    if (value === null) {
      showMessage(`報酬は −${REWARD_LIMIT} から ${REWARD_LIMIT} の数にしてください `
        + `(a reward must be a number from −${REWARD_LIMIT} to ${REWARD_LIMIT}).`, 'error', near);
    }
    return value;
  }

  function saveMaze() {
    const editor = state.editor;
    M.download(M.mazeText({
      grid: editor.grid, rewards: editor.rewards, prob: readSlider(els.prob),
      gamma: readSlider(els.gamma),
      withRewards: editor.anyCustom() || editor.stepReward !== M.DEFAULT_STEP_REWARD,
    }), 'maze.json');
    showMessage('maze.json をダウンロードフォルダーに保存しました (saved to Downloads).', 'info',
      els.fileButtons);
  }

  async function loadMaze(file) {
    try {
      const maze = M.parseMaze(await file.text(), MAX_SIDE, REWARD_LIMIT);
      const step = maze.rewards ? M.commonOrdinaryReward(maze.grid, maze.rewards) : M.DEFAULT_STEP_REWARD;
      state.preset = null;
      state.editor.setMaze(maze.grid, maze.rewards, step);
      els.stepReward.value = String(step);
      if (maze.prob !== null) els.prob.value = String(maze.prob);
      if (maze.gamma !== null) els.gamma.value = String(maze.gamma);
      showParameters();
      buildBoards();
      clearMessage();
      restart(`${file.name} の迷路で最初から学びます（一時停止中）(loaded).`);
    } catch (error) {
      showMessage(`${file.name} を読み込めませんでした: ${error.message}`, 'error', els.fileButtons);
    } finally {
      els.loadFile.value = '';
    }
  }

  function socketReady() {
    if (runs.a.ready && document.body.dataset.ready !== 'true') {
      useDefaults('a');
      useDefaults('b');
      describeLearners();
      document.body.dataset.ready = 'true';
    }
  }

  // ---------------------------------------------------------------- wiring

  function start() {
    els.prob.value = page.defaultProb || '0.8';
    els.gamma.value = page.defaultGamma || '0.9';
    els.learnerA.value = 'q_learning';
    els.learnerB.value = 'sarsa';
    showParameters();
    state.editor = new M.Editor({
      element: boards.a.element,
      grid: SAMPLE,
      onChange: mazeChanged,
      onSelect: () => {
        const at = state.editor.anchor;
        if (at && state.editor.grid[at[0]][at[1]] !== M.BLOCK) {
          els.reward.value = String(state.editor.rewards[at[0]][at[1]]);
        }
        scheduleRender();
      },
      onHover: (at) => {
        state.hover = at;
        scheduleRender();
      },
      onRefused: (text) => showMessage(text, 'info', els.editSlot),
    });
    boards.b.element.addEventListener('pointermove', (event) => {
      const cell = event.target.closest ? event.target.closest('[data-row]') : null;
      state.hover = cell ? [Number(cell.dataset.row), Number(cell.dataset.column)] : null;
      scheduleRender();
    });

    els.draw.addEventListener('click', drawNewGrid);
    els.preset.addEventListener('change', () => applyPreset(els.preset.value));
    kindButtons.forEach((button) => button.addEventListener('click', () => {
      state.editor.setKind(Number(button.dataset.kind));
    }));
    els.setReward.addEventListener('click', () => {
      const value = readRewardInput(els.reward, els.rewardRow);
      if (value !== null && !state.editor.setReward(value)) {
        showMessage('報酬を設定するセル（Block 以外）を選んでください (select a cell first).', 'info',
          els.rewardRow);
      }
    });
    els.stepReward.addEventListener('change', () => {
      const value = readRewardInput(els.stepReward, els.stepRewardRow);
      if (value === null) els.stepReward.value = String(state.editor.stepReward);
      else state.editor.setStepReward(value);
    });
    els.prob.addEventListener('input', showParameters);
    els.gamma.addEventListener('input', showParameters);
    els.prob.addEventListener('change', mazeChanged);
    els.gamma.addEventListener('change', () => restart('割引率 γ を変えたので、最初から学び直します'
      + '（一時停止中）(γ changed: the learners start again, paused).'));

    els.learnerA.addEventListener('change', () => learnerChanged('a'));
    els.learnerB.addEventListener('change', () => learnerChanged('b'));
    els.compare.addEventListener('change', () => {
      if (els.compare.checked) useDefaults('b');
      setCompare(els.compare.checked);
      describeLearners();
    });
    ['a', 'b'].forEach((key) => Object.keys(SETTINGS).forEach((name) => {
      inputs[key][name].addEventListener('change', () => settingChanged(key, name));
    }));
    els.start.addEventListener('click', () => startLearning(false));
    els.pause.addEventListener('click', () => control(els.pause.dataset.action || 'pause'));
    els.step.addEventListener('click', () => control('step'));
    els.reset.addEventListener('click', () => startLearning(true, 'リセットしました。最初から学びます'
      + '（一時停止中）(reset).'));
    els.speed.addEventListener('change', () => {
      activeRuns().forEach((r) => r.send({ type: 'speed', speed: speed() }));
      const choice = els.speed.selectedOptions[0].textContent;
      els.changeNote.textContent = `速度を ${choice} にしました。すぐに効きます (the speed applies at once).`;
    });
    [els.showArrows, els.showPath, els.showRoute, els.showVisits].forEach((input) => {
      input.addEventListener('change', scheduleRender);
    });

    M.wireFileButtons(saveMaze, loadMaze, clearMessage);
    M.onResize(() => {
      applyCellSize();
      state.chartSizes.clear();
      activeRuns().forEach((r) => { r.freshPath = true; });
      scheduleRender();
    });

    buildBoards();
    runs.a.connect();
    startLearning(true); // sent once the socket is ready: the maze, V*, and episode 0
  }

  start();
})();
