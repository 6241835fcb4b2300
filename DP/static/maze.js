/*
 * The maze of the simulator's pages, shared by the Day2 page (app.js) and the Day3 page
 * (learn.js): the cell kinds and their default rewards, the colour scale, the number
 * formats, the maze JSON (save and load, with the server's checks), and `Maze.Editor`, the
 * editing itself (select cells with a click, a drag or the keyboard; set their kind or their
 * reward on arrival). The editor keeps the maze and calls back when it changes; the page draws.
 *
 * The rules are those of DP/environment.py: 0 ordinary, 1 Treasure (+1, ends), -1 Danger
 * (-1, ends), 9 Block (cannot be entered); the agent starts at the lower left, which can
 * never be a Block. A maze file is {"grid": [[...]], "prob": 0.8, "gamma": 0.9, "rewards":
 * [[...]]} (rewards only when some cell's differs from its kind's default), as Day2 saves it
 * and `python DP/vectorized_planner.py --grid maze.json` reads it.
 */
(() => {
  'use strict';

  const ORDINARY = 0;
  const TREASURE = 1;
  const DANGER = -1;
  const BLOCK = 9;
  const KINDS = new Map([
    [ORDINARY, 'Ordinary'], [TREASURE, 'Treasure'], [DANGER, 'Danger'], [BLOCK, 'Block'],
  ]);
  const KIND_REWARDS = new Map([[TREASURE, 1], [DANGER, -1], [BLOCK, 0]]);
  const DEFAULT_STEP_REWARD = -0.04;
  const MIN_SIDE = 2;

  // ---------------------------------------------------------------- numbers and colours

  // A number as the cells show it, with a real minus sign (a hyphen is easy to misread).
  function formatValue(v) {
    const size = Math.abs(v);
    const digits = size >= 100 ? 0 : size >= 10 ? 1 : 2;
    const text = v.toFixed(digits);
    return /^-0\.?0*$/.test(text) ? text.slice(1) : text.replace('-', '−');
  }

  function formatReward(v) {
    const text = Number.isInteger(v) ? String(v) : String(Number(v.toFixed(4)));
    return (v > 0 ? '+' : '') + text.replace('-', '−');
  }

  // Diverging colour scale: red (negative) - light grey (0) - green (positive), 401 shades
  // computed once, so that colouring a 20 x 20 maze costs only lookups.
  const NEUTRAL = [247, 247, 247];
  const POSITIVE = [26, 152, 80];
  const NEGATIVE = [215, 48, 39];
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

  // ---------------------------------------------------------------- the maze JSON

  function defaultReward(kind, stepReward) {
    return KIND_REWARDS.has(kind) ? KIND_REWARDS.get(kind) : stepReward;
  }

  // The same checks as the server's, so that a broken file is refused with a clear reason.
  function parseMaze(text, maxSide, rewardLimit) {
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
    if (grid.length < MIN_SIDE || grid.length > maxSide || !grid.every(Array.isArray)) {
      throw new Error(`行数は ${MIN_SIDE}〜${maxSide} にしてください (rows must be ${MIN_SIDE} to ${maxSide}).`);
    }
    const columns = grid[0].length;
    if (columns < MIN_SIDE || columns > maxSide) {
      throw new Error(`列数は ${MIN_SIDE}〜${maxSide} にしてください (columns must be ${MIN_SIDE} to ${maxSide}).`);
    }
    grid.forEach((row, r) => {
      if (row.length !== columns) {
        throw new Error(`迷路が長方形ではありません: ${r} 行目のセル数が違います (the grid must be rectangular).`);
      }
      row.forEach((cell) => {
        if (!KINDS.has(cell)) throw new Error(`不明なセルの値 ${JSON.stringify(cell)} (use 0, 1, -1 or 9).`);
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
    let rewards = null;
    if (data.rewards !== undefined) {
      rewards = data.rewards;
      const fits = Array.isArray(rewards) && rewards.length === grid.length
        && rewards.every((row) => Array.isArray(row) && row.length === columns);
      if (!fits) {
        throw new Error(`"rewards" は迷路と同じ ${grid.length} 行 × ${columns} 列にしてください `
          + '(the rewards must have the grid\'s shape).');
      }
      rewards.forEach((row) => row.forEach((v) => {
        if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > rewardLimit) {
          throw new Error(`報酬 ${JSON.stringify(v)} は −${rewardLimit}〜${rewardLimit} の数にしてください `
            + `(every reward must be a number from −${rewardLimit} to ${rewardLimit}).`);
        }
      }));
    }
    return { grid, prob: number('prob'), gamma: number('gamma'), rewards };
  }

  // One row per line, so that a saved maze is easy to read and edit by hand.
  function mazeText({ grid, rewards, prob, gamma, withRewards }) {
    const lines = (rows) => rows.map((row) => `    [${row.join(', ')}]`).join(',\n');
    let text = `{\n  "grid": [\n${lines(grid)}\n  ],\n  "prob": ${prob},\n  "gamma": ${gamma}`;
    if (withRewards) text += `,\n  "rewards": [\n${lines(rewards)}\n  ]`;
    return `${text}\n}\n`;
  }

  // The step reward of a loaded maze: the reward most ordinary cells have.
  function commonOrdinaryReward(grid, rewards) {
    const counts = new Map();
    grid.forEach((row, r) => row.forEach((kind, c) => {
      if (kind === ORDINARY) counts.set(rewards[r][c], (counts.get(rewards[r][c]) || 0) + 1);
    }));
    let best = DEFAULT_STEP_REWARD;
    let most = 0;
    counts.forEach((count, value) => {
      if (count > most) [best, most] = [value, count];
    });
    return best;
  }

  function download(text, name) {
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // ---------------------------------------------------------------- page helpers

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The page's message box (#message, #message-text): 'error' or 'info'. It is shown where
  // the eye is: right after `near`, the control that caused it (default: where it is now),
  // and scrolled into view if it is not.
  function showMessage(text, kind = 'error', near = null) {
    const box = document.getElementById('message');
    document.getElementById('message-text').textContent = text;
    box.className = `message ${kind}`;
    if (near && near.nextElementSibling !== box) near.after(box);
    box.hidden = false;
    const rect = box.getBoundingClientRect();
    if (rect.top < 0 || rect.bottom > window.innerHeight) {
      box.scrollIntoView({ block: 'nearest' });
    }
  }

  // The cell size (px) for a board `width` px wide and, on a wide screen, `height` px high.
  // Each cell takes its size plus a 2 px gap; no sideways scrolling, on a phone too.
  function fitCellSize(width, height, rows, columns) {
    const byWidth = Math.floor((width - 4 - 2 * (columns - 1)) / columns);
    const byHeight = window.innerWidth > 760 ? Math.floor((height - 4 - 2 * (rows - 1)) / rows) : 84;
    return Math.min(84, Math.max(10, Math.min(byWidth, byHeight)));
  }

  // The height (px) a maze may take on a wide screen so that it and the controls above it fit
  // the window together: from the board's top in the page to the window's bottom, less
  // `below` px for what must stay visible under it (the legend), and never under 240 px.
  function heightForBoard(board, below) {
    const top = board.getBoundingClientRect().top + window.scrollY;
    return Math.max(240, window.innerHeight - top - below);
  }

  // Cell sizes (px) below which the kind label, then the numbers, no longer fit.
  const COMPACT_CELL = 50;
  const TINY_CELL = 24;

  function applyCellSize(board, size) {
    board.style.setProperty('--cell', `${size}px`);
    board.classList.toggle('compact', size < COMPACT_CELL);
    board.classList.toggle('tiny', size < TINY_CELL);
  }

  // Save, Load (through the hidden file input) and the message's close button.
  function wireFileButtons(saveMaze, loadMaze, clearMessage) {
    const loadFile = document.getElementById('load-file');
    document.getElementById('save').addEventListener('click', saveMaze);
    document.getElementById('load').addEventListener('click', () => loadFile.click());
    loadFile.addEventListener('change', () => {
      if (loadFile.files.length > 0) loadMaze(loadFile.files[0]);
    });
    document.getElementById('message-close').addEventListener('click', clearMessage);
  }

  // `resized()` once the window has stopped changing size for 100 ms.
  function onResize(resized) {
    let timer = null;
    window.addEventListener('resize', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(resized, 100);
    });
  }

  // An empty board (the element of a maze's cells) for a maze of rows x columns, and its
  // rows: a screen reader walks the maze row by row, cell by cell (role grid > row >
  // gridcell). The rows take no room (display: contents); the board lays out the cells.
  function resetBoard(board, rows, columns) {
    board.replaceChildren();
    board.style.setProperty('--columns', String(columns));
    board.setAttribute('aria-rowcount', String(rows));
    board.setAttribute('aria-colcount', String(columns));
    return Array.from({ length: rows }, (_, r) => {
      const row = element('div', 'grid-row');
      row.setAttribute('role', 'row');
      row.setAttribute('aria-rowindex', String(r + 1));
      board.append(row);
      return row;
    });
  }

  // The element of cell (r, c) of `board`; the editor finds it by its data-row and
  // data-column, a screen reader by its id (the board's aria-activedescendant).
  function cellElement(board, r, c) {
    const root = element('div', 'cell');
    root.id = `${board.id}-${r}-${c}`;
    root.dataset.row = String(r);
    root.dataset.column = String(c);
    root.setAttribute('role', 'gridcell');
    root.setAttribute('aria-colindex', String(c + 1));
    root.setAttribute('aria-selected', 'false');
    return root;
  }

  // What a screen reader says of a cell: where it is, what it is, and the page's `more`
  // (its value, the arrows), Japanese first: "行 2, 列 0: 通路 Ordinary・スタート, V = 0.37".
  const KIND_NAMES = new Map([
    [ORDINARY, '通路 Ordinary'], [TREASURE, 'Treasure'], [DANGER, 'Danger'], [BLOCK, 'Block（壁）'],
  ]);
  const DIRECTIONS = ['↑ 上 up', '↓ 下 down', '← 左 left', '→ 右 right'];

  function cellName(editor, r, c, more) {
    const kind = editor.grid[r][c];
    let name = `行 ${r}, 列 ${c}: ${KIND_NAMES.get(kind)}${editor.isStart(r, c) ? '・スタート S' : ''}`;
    if (kind === TREASURE || kind === DANGER) name += `, 報酬 ${formatReward(editor.rewards[r][c])}`;
    else if (kind === ORDINARY && editor.isCustom(r, c)) {
      name += `, 報酬 ${formatReward(editor.rewards[r][c])}`;
    }
    return more ? `${name}, ${more}` : name;
  }

  // "戦略 ↑ 上 up, → 右 right" for the actions whose bits are set (up, down, left, right).
  function arrowWords(bits, what = '戦略') {
    const names = DIRECTIONS.filter((_, a) => bits & (1 << a));
    return names.length ? `${what} ${names.join(', ')}` : '';
  }

  // What both pages show of cell (r, c) before their own layer: { kind, reward, classes
  // (['cell'] and the kind's), value, label }. A Treasure or Danger shows its reward and its
  // name, a Block its name; an ordinary cell is left to the page.
  function cellLook(editor, r, c) {
    const kind = editor.grid[r][c];
    const reward = editor.rewards[r][c];
    const look = { kind, reward, classes: ['cell'], value: '', label: '' };
    if (kind === TREASURE || kind === DANGER) {
      look.classes.push(kind === TREASURE ? 'treasure' : 'danger');
      look.value = formatReward(reward);
      look.label = KINDS.get(kind);
    } else if (kind === BLOCK) {
      look.classes.push('block');
      look.label = 'Block';
    }
    return look;
  }

  // A chart's canvas, sized for the screen's pixel ratio and cleared: { ctx, width, height,
  // left, right, top, bottom } (the plot area inside the axes). `sizes` (a Map) keeps each
  // canvas' CSS size, measured once: reading it each frame would force a page layout; clear
  // it when the window is resized.
  function prepareCanvas(canvas, sizes) {
    const ratio = window.devicePixelRatio || 1;
    if (!sizes.has(canvas)) sizes.set(canvas, [canvas.clientWidth, canvas.clientHeight]);
    const [cssWidth, cssHeight] = sizes.get(canvas);
    const width = Math.max(200, cssWidth);
    const height = Math.max(100, cssHeight);
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#5b6775';
    return { ctx, width, height, left: 44, right: width - 10, top: 20, bottom: height - 22 };
  }

  // ---------------------------------------------------------------- the editor

  /*
   * new Editor({ element, grid, onChange, onSelect, onHover, onRefused, pointerArea }) edits
   * the maze drawn in `element`, whose cells carry data-row and data-column. It holds `grid`,
   * `rewards`, `stepReward` and `selection`; it never draws: the page repaints on its
   * callbacks. onChange(what) - the maze changed: what is 'kind', 'reward' or 'step';
   * onSelect() - the selection changed; onHover([r, c] or null); onRefused(text) - an edit
   * was refused (nothing selected, or the start cell made a Block). The hover follows the
   * pointer over `pointerArea` (default `element`; `window` to lose it when a drag leaves).
   */
  class Editor {
    constructor({ element, grid, onChange, onSelect, onHover, onRefused, pointerArea = element }) {
      this.element = element;
      this.onChange = onChange;
      this.onSelect = onSelect;
      this.onHover = onHover;
      this.onRefused = onRefused;
      this.stepReward = DEFAULT_STEP_REWARD;
      this.setMaze(grid, null);
      this.hover = null;
      this.dragging = false;
      element.addEventListener('pointerdown', (event) => this.pointerDown(event));
      pointerArea.addEventListener('pointermove', (event) => this.pointerMove(event));
      element.addEventListener('pointerleave', () => {
        if (!this.dragging && this.hover) {
          this.hover = null;
          this.onHover(null);
        }
      });
      element.addEventListener('keydown', (event) => this.keyDown(event));
      window.addEventListener('pointerup', () => { this.dragging = false; });
    }

    get rows() { return this.grid.length; }

    get columns() { return this.grid[0].length; }

    isStart(r, c) { return r === this.rows - 1 && c === 0; }

    // A new maze: `rewards` null means every cell has its kind's default.
    setMaze(grid, rewards, stepReward = this.stepReward) {
      this.grid = grid.map((row) => row.slice());
      this.stepReward = stepReward;
      this.rewards = rewards
        ? rewards.map((row, r) => row.map((v, c) => (grid[r][c] === BLOCK ? 0 : v)))
        : this.grid.map((row) => row.map((kind) => defaultReward(kind, stepReward)));
      this.selection = new Set([`${this.rows - 1},0`]);
      this.anchor = [this.rows - 1, 0];
    }

    // The cell a screen reader is on: the selection's anchor, announced through the board's
    // aria-activedescendant (the board keeps the keyboard focus, the cells do not).
    activeCellId() {
      const at = this.anchor;
      if (!at || at[0] >= this.rows || at[1] >= this.columns) return null;
      return `${this.element.id}-${at[0]}-${at[1]}`;
    }

    // The classes the maze and the selection give cell (r, c).
    cellClasses(r, c, selection = true) {
      const classes = [];
      if (this.isStart(r, c)) classes.push('start-cell');
      if (this.isCustom(r, c)) classes.push('custom');
      if (selection && this.isSelected(r, c)) classes.push('selected');
      return classes;
    }

    isCustom(r, c) {
      const kind = this.grid[r][c];
      return kind !== BLOCK && this.rewards[r][c] !== defaultReward(kind, this.stepReward);
    }

    anyCustom() {
      return this.grid.some((row, r) => row.some((_, c) => this.isCustom(r, c)));
    }

    selected() {
      return Array.from(this.selection, (k) => k.split(',').map(Number));
    }

    isSelected(r, c) { return this.selection.has(`${r},${c}`); }

    setKind(kind) {
      const cells = this.selected();
      if (cells.length === 0) {
        this.onRefused('先にセルを選んでください (select a cell first).');
        return;
      }
      let changed = false;
      let skippedStart = false;
      cells.forEach(([r, c]) => {
        if (kind === BLOCK && this.isStart(r, c)) {
          skippedStart = true;
        } else if (this.grid[r][c] !== kind) {
          this.grid[r][c] = kind;
          this.rewards[r][c] = defaultReward(kind, this.stepReward); // a new kind, its default
          changed = true;
        }
      });
      if (skippedStart) this.onRefused('スタート（左下）は Block にできません (the start cell cannot be blocked).');
      if (changed) this.onChange('kind');
    }

    // The reward on arrival at the selected cells (Blocks are never arrived at).
    setReward(value) {
      let changed = false;
      this.selected().forEach(([r, c]) => {
        if (this.grid[r][c] !== BLOCK && this.rewards[r][c] !== value) {
          this.rewards[r][c] = value;
          changed = true;
        }
      });
      if (changed) this.onChange('reward');
      return this.selected().some(([r, c]) => this.grid[r][c] !== BLOCK);
    }

    // The step reward is the default of every ordinary cell: the cells still at the old
    // default follow it, those given a reward of their own keep it.
    setStepReward(value) {
      const old = this.stepReward;
      if (value === old) return;
      this.grid.forEach((row, r) => row.forEach((kind, c) => {
        if (kind === ORDINARY && this.rewards[r][c] === old) this.rewards[r][c] = value;
      }));
      this.stepReward = value;
      this.onChange('step');
    }

    cellAt(event) {
      const target = document.elementFromPoint(event.clientX, event.clientY);
      const cell = target && target.closest ? target.closest('[data-row]') : null;
      if (!cell || !this.element.contains(cell)) return null;
      return [Number(cell.dataset.row), Number(cell.dataset.column)];
    }

    selectRectangle(from, to) {
      this.selection = new Set();
      const [r0, r1] = [Math.min(from[0], to[0]), Math.max(from[0], to[0])];
      const [c0, c1] = [Math.min(from[1], to[1]), Math.max(from[1], to[1])];
      for (let r = r0; r <= r1; r += 1) {
        for (let c = c0; c <= c1; c += 1) this.selection.add(`${r},${c}`);
      }
      this.onSelect();
    }

    pointerDown(event) {
      if (event.button !== 0) return;
      const at = this.cellAt(event);
      if (!at) return;
      event.preventDefault();
      this.element.focus({ preventScroll: true });
      if (event.ctrlKey || event.metaKey) {
        const k = `${at[0]},${at[1]}`;
        if (this.selection.has(k)) this.selection.delete(k);
        else this.selection.add(k);
        this.anchor = at;
        this.onSelect();
        return;
      }
      if (!event.shiftKey || !this.anchor) this.anchor = at;
      this.dragging = true;
      this.selectRectangle(this.anchor, at);
    }

    pointerMove(event) {
      const at = this.cellAt(event);
      if (this.dragging && at) {
        this.selectRectangle(this.anchor, at);
      }
      const before = this.hover;
      if (!before !== !at || (at && (before[0] !== at[0] || before[1] !== at[1]))) {
        this.hover = at;
        this.onHover(at);
      }
    }

    keyDown(event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const shortcuts = {
        t: TREASURE, d: DANGER, b: BLOCK, c: ORDINARY,
        1: TREASURE, '-': DANGER, 9: BLOCK, 0: ORDINARY, delete: ORDINARY, backspace: ORDINARY,
      };
      if (moves[event.key]) {
        event.preventDefault();
        const from = this.anchor || [this.rows - 1, 0];
        const to = [
          Math.min(this.rows - 1, Math.max(0, from[0] + moves[event.key][0])),
          Math.min(this.columns - 1, Math.max(0, from[1] + moves[event.key][1])),
        ];
        this.anchor = to;
        this.selectRectangle(to, to);
        this.hover = to;
        this.onHover(to);
      } else if (Object.prototype.hasOwnProperty.call(shortcuts, event.key.toLowerCase())) {
        event.preventDefault();
        this.setKind(shortcuts[event.key.toLowerCase()]);
      }
    }
  }

  window.Maze = Object.freeze({
    ORDINARY, TREASURE, DANGER, BLOCK, KINDS, KIND_REWARDS, DEFAULT_STEP_REWARD, MIN_SIDE,
    formatValue, formatReward, colourOf, defaultReward,
    parseMaze, mazeText, commonOrdinaryReward, download, Editor,
    element, showMessage, fitCellSize, applyCellSize, TINY_CELL, wireFileButtons, onResize,
    prepareCanvas, resetBoard, cellElement, cellLook, cellName, arrowWords, heightForBoard,
  });
})();
