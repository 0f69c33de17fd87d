"""What a lecturer says over each step of a scene, written from the trace, in English and Korean.

A scene marks each step with what of the trace it shows (``PacedScene.step``'s ``about``: a forward
node, a backward step, the summary...); ``narrate`` turns those into sentences. Every number is the
trace's, written by the functions that write it on screen (``style.fmt_value``, ``style.fmt_grad`` and
the step names' ``plain_number``), through the same Notation (names, rounding noise shown as 0), so what is
said and what is shown never disagree. A training scene's steps are its captions, already sentences
from the trace in the render's language: they are said as shown.

``trace_fields`` gives the names an authored narration may use as placeholders ("x gets {grad.x}").
It lives beside the pipeline, not in scenes/: rewording a sentence changes no picture, so it must not
make every cached clip stale (a clip's cache key covers the scenes' code).
"""
from __future__ import annotations

import numpy as np

from engine.languages import DEFAULT_LANG, LANGUAGES, language
from engine.ops import TORCH_OP
from engine.trace_check import NUMBER_LABEL

from scenes import style
from scenes.formulas import bias_summed
from scenes.graph_scenes import GradientCheck, plain_number
from scenes.notation import Notation
from scenes.trace_data import GraphTrace, decode_value
from scenes.training_scenes import ACT_NAMES

# How a gate is called: its op's name (a symbol is said badly by a voice)
GATE_NAMES = {
    "en": {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide", "neg": "negate", "pow": "power",
           "exp": "exponential", "log": "log", "sqrt": "square-root", "max": "max", "min": "min", "amax": "max",
           "amin": "min", "abs": "absolute-value", "reciprocal": "one-over-x", "sigmoid": "sigmoid", "tanh": "tanh",
           "relu": "ReLU", "leaky_relu": "leaky ReLU", "matmul": "matrix-product", "addmm": "affine",
           "transpose": "transpose", "sum": "sum", "mean": "mean", "softmax": "softmax", "log_softmax": "log-softmax",
           "softmax_cross_entropy": "softmax-with-loss", "mse": "mean-squared-error", "index": "index",
           TORCH_OP: "PyTorch"},
    "ko": {"add": "덧셈", "sub": "뺄셈", "mul": "곱셈", "div": "나눗셈", "neg": "부호 반전", "pow": "거듭제곱",
           "exp": "지수", "log": "로그", "sqrt": "제곱근", "max": "max", "min": "min", "amax": "max", "amin": "min",
           "abs": "절댓값", "reciprocal": "역수", "sigmoid": "시그모이드", "tanh": "tanh", "relu": "ReLU",
           "leaky_relu": "leaky ReLU", "matmul": "행렬 곱", "addmm": "Affine", "transpose": "전치", "sum": "합",
           "mean": "평균",
           "softmax": "softmax", "log_softmax": "log-softmax", "softmax_cross_entropy": "Softmax-with-Loss",
           "mse": "평균 제곱 오차", "index": "인덱스", TORCH_OP: "PyTorch"},
}

SAY = {
    "en": {
        "title": "Let's work through this one: {text}.",
        "forward_input": "The input {name} is {value}.",
        "forward_const": "The constant {value} goes in.",
        "forward_named_const": "The constant {name} is {value}.",
        "matrix": "a {shape} matrix", "vector": "a {size}-vector",
        "sigmoid_each": "At the sigmoid gate {name}, each entry's local gradient is y(1−y), from the cached output y; "
                        "multiplied entry by entry with the upstream gradient, {src} gets {down}.",
        "relu": "The ReLU gate {name} lets the upstream gradient through only where its input was positive, "
                "{k} of {n} entries: {src} gets {down}.",
        "forward_gate": "The {gate} gate {name} takes {inputs} and computes {value}.",
        "seed": "The backward pass starts at the output {out}: its gradient with respect to itself is {one}.",
        "local": "At the {gate} gate {name}, the upstream gradient {up} times the local gradient {local} gives "
                 "{src} its gradient, {down}.",
        "passes": "At the {gate} gate {name}, the upstream gradient {up} gives {src} its gradient, {down}.",
        "add": "The add gate {name} distributes: {srcs} each get the upstream gradient {up}, unchanged.",
        "mul": "The multiply gate {name} swaps its inputs: {clauses}.",
        "mul_one": "{src} gets the upstream gradient {up} times {other}'s value {other_value}, that is {down}",
        "clauses": "; ",
        "max": "The max gate {name} routes: the larger input, {src} = {value}, gets the whole upstream "
               "gradient {up}; {others} get{s} 0.",
        "sigmoid": "At the sigmoid gate {name}, the local gradient is y(1−y), with the output y = {y}: {local}; "
                   "times the upstream gradient {up}, {src} gets {down}.",
        "matmul_w": "At the matrix product {name}, {src} gets the upstream gradient times xᵀ: {down}.",
        "matmul_x": "{src} gets Wᵀ times the upstream gradient: {down}.",
        "addmm_sum": "At the {gate} gate {name}, {src} was added to every row, so it gets the upstream gradient "
                     "summed over the rows: {down}.",
        "addmm_one": "At the {gate} gate {name}, {src} was added, so it gets the upstream gradient as it is: {down}.",
        "addmm_left": "{src} gets the upstream gradient times {other}ᵀ: {down}.",
        "addmm_right": "{src} gets {other}ᵀ times the upstream gradient: {down}.",
        "loss": "Softmax-with-Loss sends back y minus t over the batch: {src} gets {down}.",
        "branch_one": "{name} was used {uses} times, so its gradient is the sum of what each use sent back: "
                      "{terms} add up to {total}.",
        "summary": "To sum up, the gradients of {out}: {grads}.",
        "grad_of": "{name} {grad}",
        "alternative": "Now the same function, with the chain of gates replaced by a single sigmoid gate.",
        "routes": "Both routes give the same gradients: {grads}.",
        "gradcheck": "To check the gradients, we nudge each input by h = {h} both ways and compare the slope of "
                     "the central difference with the analytic gradient.",
        "check": "For {name}, backpropagation gives {analytic} and the central difference {numeric}: a relative "
                 "error of {error}, {verdict}.",
        "check_matrix": "For {name}, the largest relative error over its entries is {error}, {verdict}.",
        "check_none": "{name} could not be checked numerically here.",
        "pass": "a pass", "fail": "a failure",
        "and": " and ", "list": ", ",
    },
    "ko": {
        "title": "이번에 살펴볼 내용: {text}.",
        "forward_input": "입력 {name}의 값은 {value}입니다.",
        "forward_const": "상수의 값은 {value}입니다.",
        "forward_named_const": "상수 {name}의 값은 {value}입니다.",
        "matrix": "{shape} 행렬", "vector": "{size}차원 벡터",
        "sigmoid_each": "시그모이드 노드 {name}에서 각 원소의 국소 기울기는 저장해 둔 출력 y로 구한 y(1−y)입니다. 상류 기울기와 "
                        "원소별로 곱하면 {src}의 기울기는 {down}입니다.",
        "relu": "ReLU 노드 {name}에서는 입력이 양수였던 곳, {n}개 중 {k}개 원소로만 상류 기울기가 지나갑니다. {src}의 기울기는 "
                "{down}입니다.",
        "forward_gate": "{gate} 노드 {name}에서 {inputs}의 결과는 {value}입니다.",
        "seed": "역전파는 출력 {out}에서 시작합니다. 자기 자신에 대한 기울기는 {one}입니다.",
        "local": "{gate} 노드 {name}에서 {src}의 기울기는 상류 기울기 {up} 곱하기 국소 기울기 {local}, 곧 {down}입니다.",
        "passes": "{gate} 노드 {name}에서 {src}의 기울기는 상류 기울기 {up}에서 온 {down}입니다.",
        "add": "덧셈 노드 {name}에서는 기울기가 분배됩니다. {srcs}의 기울기는 모두 상류 기울기와 같은 {up}입니다.",
        "mul": "곱셈 노드 {name}에서는 입력을 바꿔 곱합니다. {clauses}.",
        "mul_one": "{src}의 기울기는 상류 기울기 {up} 곱하기 {other}의 값 {other_value}, 곧 {down}입니다",
        "clauses": ". ",
        "max": "max 노드 {name}에서는 큰 입력 {src} = {value}만 상류 기울기 {up} 전부를 받고, {others}의 기울기는 "
               "0입니다.",
        "sigmoid": "시그모이드 노드 {name}의 국소 기울기는 출력 y = {y}에서 구한 y(1−y), 곧 {local}입니다. 상류 기울기 "
                   "{up}에 곱하면 {src}의 기울기는 {down}입니다.",
        "matmul_w": "행렬 곱 {name}에서 {src}의 기울기는 상류 기울기와 xᵀ의 곱, {down}입니다.",
        "matmul_x": "{src}의 기울기는 Wᵀ와 상류 기울기의 곱, {down}입니다.",
        "addmm_sum": "{gate} 노드 {name}에서 {src}의 값은 모든 행에 더해졌으므로, 기울기는 상류 기울기를 행끼리 더한 {down}입니다.",
        "addmm_one": "{gate} 노드 {name}에서 {src}의 값은 그대로 더해졌으므로, 기울기는 상류 기울기와 같은 {down}입니다.",
        "addmm_left": "{src}의 기울기는 상류 기울기와 {other}ᵀ의 곱, {down}입니다.",
        "addmm_right": "{src}의 기울기는 {other}ᵀ와 상류 기울기의 곱, {down}입니다.",
        "loss": "Softmax-with-Loss는 (y − t)를 배치 크기로 나눠 보냅니다. {src}의 기울기는 {down}입니다.",
        "branch_one": "{name}의 값은 {uses}번 쓰였으므로, 기울기는 각 경로에서 온 값의 합입니다. {terms}의 합은 "
                      "{total}입니다.",
        "summary": "정리하면, {out}의 기울기는 {grads}입니다.",
        "grad_of": "{name}: {grad}",
        "alternative": "이제 같은 함수를, 여러 노드 대신 시그모이드 노드 하나로 계산합니다.",
        "routes": "두 방법 모두 같은 기울기를 줍니다. {grads}.",
        "gradcheck": "기울기를 확인하려고 각 입력을 h = {h}만큼 양쪽으로 움직여, 중심 차분의 기울기를 해석적 기울기와 "
                     "비교합니다.",
        "check": "{name}: 역전파는 {analytic}, 중심 차분은 {numeric}, 상대 오차는 {error}입니다. {verdict}",
        "check_matrix": "{name}: 원소들의 가장 큰 상대 오차는 {error}입니다. {verdict}",
        "check_none": "{name}의 기울기는 여기서 수치적으로 확인할 수 없습니다.",
        "pass": "통과입니다.", "fail": "실패입니다.",
        "and": ", ", "list": ", ",
    },
}


# A training scene's caption, said with a lecturer's lead-in (the caption's key found by its template)
LEADS = {
    "en": {"slopes": "Each layer multiplies the gradient by its activation's slope.",
           "norms": "Next, how large each layer's gradient is.",
           "vanish": "Right at the start, the gradient fades on its way down to the first layer.",
           "dead": "Some networks are dead from the start.",
           "norms_training": "Now let training run.",
           "curves": "And the outcome.", "outcome_seeds": "And the outcome.",
           "seed_summary": "So we repeat the training over many seeds.",
           "zigzag_sigmoid": "Follow the path of the two weights.", "zigzag_tanh": "Now the same with tanh.",
           "hist_intro": "One backward pass, and the sign of every weight's gradient."},
    "ko": {"slopes": "각 층은 기울기에 활성화 함수의 기울기를 곱합니다.",
           "norms": "다음은 각 층의 기울기 크기입니다.",
           "vanish": "학습을 시작하자마자 기울기는 첫 층으로 내려가며 사라집니다.",
           "dead": "어떤 신경망은 처음부터 죽어 있습니다.",
           "norms_training": "이제 학습을 진행합니다.",
           "curves": "결과를 봅시다.", "outcome_seeds": "결과를 봅시다.",
           "seed_summary": "그래서 학습을 여러 시드로 반복합니다.",
           "zigzag_sigmoid": "두 가중치가 움직이는 경로를 따라가 봅시다.", "zigzag_tanh": "이번에는 tanh입니다.",
           "hist_intro": "역전파 한 번 후, 모든 가중치 기울기의 부호를 봅니다."},
}


def caption_key(text: str, lang: str) -> str | None:
    """Which caption with a lead-in ``text`` is (the longest template it starts with), in ``lang``."""
    import re

    lang = language(lang).code  # an unknown one: the default language's tables
    captions, leads = style.CAPTIONS[lang], LEADS[lang]
    for key, template in sorted(((k, t) for k, t in captions.items() if k in leads), key=lambda kv: -len(kv[1])):
        pattern = ".+?".join(re.escape(part) for part in re.split(r"\{\w+\}", template))
        if "{" in template and re.match(pattern + r"(?:$|:)", text) or text == template:
            return key
    return None


def _caption_said(text: str, lang: str, trace: dict) -> str:
    key = caption_key(text, lang) or ""
    lead = LEADS[lang].get(key, "")
    sentences = [" ".join(text.split())]
    if key in ("zigzag_sigmoid", "zigzag_tanh"):  # the path's count, which the legend shows beside it
        act = key.split("_")[1]
        for run in trace.get("runs", []):
            if run["activation"] == act and "same_sign_steps" in run:
                sentences.append(style.CAPTIONS[lang]["zigzag_path"].format(
                    name=act, same=run["same_sign_steps"], steps=len(run["grads"])))
    said = [lead] if lead else []
    for sentence in sentences:
        sentence = sentence[:1].upper() + sentence[1:] if language(lang).capitalised else sentence
        said.append(sentence + ("" if sentence.endswith((".", "!", "?")) else "."))
    return " ".join(said)


def narrate(trace: dict, steps: list[tuple[str, dict | None]], lang: str) -> list[str]:
    """One sentence (or a few) per step: ``steps`` are the scene's (name, about), in order."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANG
    teller = _Teller(trace, lang) if trace["kind"] == "graph" else None
    said = []
    for name, about in steps:
        kind = (about or {}).get("kind")
        if kind == "caption" or teller is None and kind != "title":
            said.append(_caption_said(name, lang, trace))  # a training scene's caption: already written from the trace
        elif kind == "title":
            said.append(SAY[lang]["title"].format(text=about["text"].strip().rstrip(".")))
        elif teller is not None and kind in teller.kinds:
            said.append(teller.kinds[kind](about))
        else:  # a step the scene did not describe (a title card's): its name says what it shows
            said.append(name.split(": ", 1)[-1] if name.startswith("title: ") else name)
    return [" ".join(text.split()) for text in said]


def graph_story(trace: dict, lang: str = DEFAULT_LANG) -> list[dict]:
    """The steps a graph scene marks, each as its ``about``, read from the trace alone (without building the
    scene, which takes seconds): what scenes/graph_scenes.py does, step for step (a test holds the two equal
    for every shipped config)."""
    config = trace["config"]
    lines = (config.get("expression") or "").strip().splitlines()
    title = config.get("title") or (lines[-1] if lines else
                                    style.CAPTIONS[lang].get(f"title_{config['scene']}", config["scene"]))
    story = [{"kind": "title", "text": title}]
    main = GraphTrace.from_dict(trace)
    if config["scene"] == "gradcheck":
        return story + [{"kind": "gradcheck"}] + [{"kind": "check", "node": n.id} for n in main.inputs]

    def passes(g: GraphTrace, part: str) -> list[dict]:
        used = {src for n in g.nodes.values() for src in n.inputs} | {g.output}
        return ([{"kind": "forward", "node": nid, "graph": part} for nid in g.forward if nid in used]
                + [{"kind": "seed", "graph": part}]
                + [{"kind": "backward", "index": i, "graph": part} for i in range(len(g.backward))])

    story += passes(main, "main")
    if config["scene"] == "sigmoid_gate":
        alt = main.alternative(trace)
        return story + [{"kind": "alternative"}] + passes(alt, "alternative") + [{"kind": "routes"}]
    if config["scene"] == "gates":
        uses = Notation(main).uses
        branched = [n.id for n in main.inputs if uses[n.id] > 1]
        if branched:
            story.append({"kind": "branch", "nodes": branched, "graph": "main"})
    return story + [{"kind": "summary", "graph": "main"}]


class _Teller:
    """Sentences about one graph trace (and its alternative), in one language."""

    def __init__(self, trace: dict, lang: str):
        self.raw, self.lang, self.say = trace, lang, SAY[lang]
        main = GraphTrace.from_dict(trace)
        alt = main.alternative(trace)
        self.notations = {"main": Notation(main), **({"alternative": Notation(alt)} if alt else {})}
        self.kinds = {"forward": self.forward, "seed": self.seed, "backward": self.backward, "summary": self.summary,
                      "branch": self.branch, "alternative": lambda about: self.say["alternative"],
                      "routes": self.routes, "gradcheck": self.gradcheck, "check": self.check}

    def nt(self, about: dict) -> Notation:
        return self.notations.get(about.get("graph", "main"), self.notations["main"])

    def amount(self, value, gradient: bool) -> str:
        """A number as on screen, a short vector's entries, or a larger array's shape in words."""
        text = plain_number(value, gradient)
        if np.ndim(value) >= 2:
            return self.say["matrix"].format(shape=text)
        if np.ndim(value) == 1 and text.endswith("-vector"):
            return self.say["vector"].format(size=np.size(value))
        return text

    def gate(self, node) -> str:
        """What a gate is called: its op's name, or the PyTorch function it ran (layer_norm)."""
        if node.op == TORCH_OP and node.symbol:
            return node.symbol
        return GATE_NAMES[self.lang].get(node.op, node.op)

    def join(self, items: list[str]) -> str:
        if len(items) <= 1:
            return "".join(items)
        return self.say["list"].join(items[:-1]) + self.say["and"] + items[-1]

    # --- the forward pass -------------------------------------------------------------------------
    def forward(self, about: dict) -> str:
        nt = self.nt(about)
        node = nt.trace.nodes[about["node"]]
        value = self.amount(nt.value(node.id), gradient=False)
        if node.op == "input":
            return self.say["forward_input"].format(name=nt.names[node.id], value=value)
        if node.op == "const":
            if NUMBER_LABEL.fullmatch(node.label):
                return self.say["forward_const"].format(value=value)
            return self.say["forward_named_const"].format(name=nt.names[node.id], value=value)
        inputs = self.join([nt.names[i] if not NUMBER_LABEL.fullmatch(nt.trace.nodes[i].label) else
                            plain_number(nt.value(i), gradient=False) for i in node.inputs])
        return self.say["forward_gate"].format(gate=self.gate(node), name=nt.names[node.id], inputs=inputs,
                                               value=value)

    # --- the backward pass ------------------------------------------------------------------------
    def seed(self, about: dict) -> str:
        nt = self.nt(about)
        out = nt.trace.output
        return self.say["seed"].format(out=nt.names[out], one=plain_number(nt.grad(out), gradient=False))

    def backward(self, about: dict) -> str:
        nt = self.nt(about)
        step = nt.trace.backward[about["index"]]
        node = nt.trace.nodes[step.node]
        name, up = nt.names[node.id], self.amount(nt.upstream(step), gradient=True)
        slots = [k for k, down in enumerate(step.downstream) if down is not None]
        src = {k: nt.names[node.inputs[k]] for k in slots}
        down = {k: self.amount(nt.downstream(step, k), gradient=True) for k in slots}
        say, parts = self.say, []
        if node.op == "add" and len(slots) > 1:
            parts.append(say["add"].format(name=name, srcs=self.join([src[k] for k in slots]), up=up))
        elif node.op == "mul" and len(node.inputs) == 2 and all(np.ndim(v) == 0 for v in step.downstream if v is not None):
            clauses = [say["mul_one"].format(src=src[k], up=up, other=nt.names[node.inputs[1 - k]], down=down[k],
                                             other_value=plain_number(nt.value(node.inputs[1 - k]), gradient=False))
                       for k in slots]
            parts.append(say["mul"].format(name=name, clauses=say["clauses"].join(clauses)))
        elif node.op == "max" and len(node.inputs) == 2 and np.ndim(step.upstream) == 0:
            winners = [k for k in slots if float(nt.downstream(step, k)) != 0.0]
            if len(winners) == 1:
                k = winners[0]
                losers = [src[j] for j in slots if j != k]
                parts.append(say["max"].format(name=name, src=src[k], value=plain_number(nt.value(node.inputs[k]), False),
                                               up=up, others=self.join(losers), s="s" if len(losers) == 1 else ""))
            else:
                parts += [self._generic(nt, step, k, src[k], down[k]) for k in slots]
        elif node.op == "sigmoid" and np.ndim(step.upstream) == 0:
            k = slots[0]
            parts.append(say["sigmoid"].format(name=name, y=plain_number(nt.value(node.id), False),
                                               local=plain_number(step.local[k], False), up=up, src=src[k], down=down[k]))
        elif node.op == "sigmoid":
            parts.append(say["sigmoid_each"].format(name=name, src=src[slots[0]], down=down[slots[0]]))
        elif node.op == "relu" and slots and step.local[slots[0]] is not None and np.ndim(step.local[slots[0]]):
            mask = np.asarray(step.local[slots[0]])
            parts.append(say["relu"].format(name=name, k=int(np.count_nonzero(mask)), n=mask.size, src=src[slots[0]],
                                            down=down[slots[0]]))
        elif node.op == "matmul":
            for k in slots:
                parts.append(say["matmul_w" if k == 0 and np.ndim(step.downstream[k]) == 2 else "matmul_x"]
                             .format(name=name, src=src[k], down=down[k]))
        elif node.op == "addmm":  # c + A B: c gets the upstream summed over the rows it was added to; A, B as matmul's
            for k in slots:
                if k == 0:
                    parts.append(say["addmm_sum" if bias_summed(step) else "addmm_one"].format(
                        gate=self.gate(node), name=name, src=src[k], down=down[k]))
                else:
                    parts.append(say["addmm_left" if k == 1 else "addmm_right"].format(
                        src=src[k], other=nt.names[node.inputs[3 - k]], down=down[k]))
        elif node.op == "softmax_cross_entropy":
            parts += [say["loss"].format(src=src[k], down=down[k]) for k in slots[:1]]
        else:
            parts += [self._generic(nt, step, k, src[k], down[k]) for k in slots]
        for branched in nt.completes(step):
            parts.append(self._branch_sum(nt, branched))
        return " ".join(parts)

    def _generic(self, nt: Notation, step, slot: int, src: str, down: str) -> str:
        node = nt.trace.nodes[step.node]
        local = step.local[slot]
        fields = dict(gate=self.gate(node), name=nt.names[node.id], up=self.amount(nt.upstream(step), True),
                      src=src, down=down)
        if local is not None and (np.ndim(local) == 0 or np.shape(local) == np.shape(step.downstream[slot])
                                  and np.ndim(local) == 1 and np.size(local) <= 4):
            return self.say["local"].format(local=plain_number(local, False), **fields)
        return self.say["passes"].format(**fields)

    def _branch_sum(self, nt: Notation, node_id: str) -> str:
        shares = [self.amount(c, True) for _, _, c in nt.contributions(node_id)]
        return self.say["branch_one"].format(name=nt.names[node_id], uses=len(shares), terms=self.join(shares),
                                             total=self.amount(nt.grad(node_id), True))

    def branch(self, about: dict) -> str:
        nt = self.nt(about)
        return " ".join(self._branch_sum(nt, n) for n in about["nodes"])

    def summary(self, about: dict) -> str:
        nt = self.nt(about)
        grads = [self.say["grad_of"].format(name=n.label, grad=self.amount(nt.grad(n.id), True)) for n in nt.trace.inputs]
        return self.say["summary"].format(out=nt.names[nt.trace.output], grads=self.say["list"].join(grads))

    def routes(self, about: dict) -> str:
        nt = self.notations.get("alternative", self.notations["main"])
        grads = [self.say["grad_of"].format(name=n.label, grad=self.amount(nt.grad(n.id), True)) for n in nt.trace.inputs]
        return self.say["routes"].format(grads=self.say["list"].join(grads))

    # --- the gradient check -----------------------------------------------------------------------
    def gradcheck(self, about: dict) -> str:
        return self.say["gradcheck"].format(h=style.fmt_value(float(self.raw["config"].get("h") or 0.0)))

    def check(self, about: dict) -> str:
        nt = self.notations["main"]
        n = nt.trace.nodes[about["node"]]
        if n.relative_error is None:
            return self.say["check_none"].format(name=n.label)
        verdict = self.say["pass" if GradientCheck.passes(n) else "fail"]
        error = style.fmt_value(n.relative_error)
        if np.ndim(n.grad) == 0:
            return self.say["check"].format(name=n.label, analytic=style.fmt_grad(float(n.grad)),
                                            numeric=style.fmt_grad(float(n.numeric_grad)), error=error,
                                            verdict=verdict)
        return self.say["check_matrix"].format(name=n.label, error=error, verdict=verdict)


# --- placeholders in authored narration -----------------------------------------------------------

def trace_fields(trace: dict) -> dict[str, str]:
    """Every name an authored narration may write as {name}, with its value as shown on screen:
    value.x, grad.x (every node, by its on-screen name and its label), output, h; for training traces
    seeds, steps, solved.sigmoid, diverged.sigmoid, dead.sigmoid, accuracy.sigmoid..."""
    fields: dict[str, str] = {}
    if trace["kind"] == "graph":
        nt = Notation(GraphTrace.from_dict(trace))
        for nid, node in nt.trace.nodes.items():
            for name in dict.fromkeys((nt.names[nid], node.label)):
                fields.setdefault(f"value.{name}", plain_number(nt.value(nid), gradient=False))
                if node.grad is not None:
                    fields.setdefault(f"grad.{name}", plain_number(nt.grad(nid), gradient=True))
                if node.relative_error is not None:
                    fields.setdefault(f"error.{name}", style.fmt_value(node.relative_error))
        fields["output"] = nt.names[nt.trace.output]
        if trace["config"].get("h") is not None:
            fields["h"] = style.fmt_value(float(trace["config"]["h"]))
        return fields
    for run in trace.get("runs", []):
        act = run["activation"]
        if "accuracy" in run:
            acc = np.asarray(decode_value(run["accuracy"]), dtype=float).ravel()
            if acc.size:
                fields.setdefault(f"accuracy.{act}", style.fmt_value(float(acc[-1])))
        if "steps" in run:
            steps = np.asarray(decode_value(run["steps"])).ravel()
            if steps.size:
                fields.setdefault("steps", str(int(steps[-1])))
    for s in trace.get("seed_summary", []):
        act = s["activation"]
        fields["seeds"] = str(s["seeds"])
        for key, short in (("solved", "solved"), ("diverged", "diverged"), ("dead_at_init", "dead")):
            fields[f"{short}.{act}"] = str(s[key])
    for act in {r["activation"] for r in trace.get("runs", [])}:
        fields.setdefault(f"name.{act}", ACT_NAMES[act])
    return fields
