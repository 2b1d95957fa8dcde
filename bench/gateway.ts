// OpenAI-compatible gateway: non-streaming chat completions against the
// upstream fixture, through
//   direct   — the fixture itself (the floor: fixture + bench + loopback),
//   bare     — bench/peers/bare-proxy.ts: node:http in, an undici Pool out,
//              no auth, no ledger (the floor of a Node proxy),
//   warbler  — Warbler's /v1 with a virtual key that has a budget and RPM/TPM
//              limits, so auth, limits, the budget check and the ledger all run;
//              for each scenario of GATEWAY_SCENARIOS (chat: POST
//              /v1/chat/completions; responses: POST /v1/responses, which
//              Warbler translates to the same chat completion for the fixture)
//              and each of GATEWAY_GUARDRAILS (off: a key whose policy is `off`;
//              on: a key whose policy has a 1,000-word list and masks mobile
//              numbers and emails, with the prompt carrying one of each),
//   portkey  — the Portkey open-source gateway (@portkey-ai/gateway), pointed
//              at the same fixture with x-portkey-provider + x-portkey-custom-host.
// Each in turn, in the same run, on the same fixture:
//   1. open loop: GATEWAY_RATE (1,000) requests/s for GATEWAY_SECONDS after a
//      warm-up; request n is due at start + n/rate and its latency runs from
//      that intended time, so a stall is not hidden by the generator waiting
//      for it (no coordinated omission);
//   2. closed loop: GATEWAY_CONCURRENCY requests always in flight, for the
//      maximum rate;
// then a soak of Warbler at GATEWAY_SOAK_RATE (default: the same rate) for
// GATEWAY_SOAK_SECONDS (300; 0 skips it), reading its RSS at the start and
// the end.
//
// The machine has 2 cores for the bench, the fixture and the gateway. By
// default (BENCH_PIN, as in the other benches) the gateway under test is
// pinned to cpu 0, the bench and the fixture to cpu 1: each gateway gets one
// core of its own, and `direct` shows what bench + fixture manage on theirs.
//
// Progress goes to stderr; the last stdout line is one JSON object.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { startFixture, type FixtureProcess } from './lib/fixture.ts';
import { freePort, machineBusyMs, ownCpuMs, pinningEnabled, pinSelf, repoRoot, startChild, waitForQuiet } from './lib/proc.ts';
import { Latency } from './lib/stats.ts';
import { envList, envNumber, log, round, sleep } from './lib/util.ts';
import { api, createApp, startWarbler, type WarblerProcess } from './lib/warbler.ts';

const RATE = envNumber('GATEWAY_RATE', 1000);
const WARMUP_SECONDS = envNumber('GATEWAY_WARMUP_SECONDS', 5);
const OPEN_SECONDS = envNumber('GATEWAY_SECONDS', 20);
const CLOSED_SECONDS = envNumber('GATEWAY_CLOSED_SECONDS', 10);
const CONCURRENCY = Math.max(1, envNumber('GATEWAY_CONCURRENCY', 32));
const SOAK_SECONDS = envNumber('GATEWAY_SOAK_SECONDS', 300);
/** The soak's rate; a rate the gateway can sustain tells a leak from a backlog. */
const SOAK_RATE = envNumber('GATEWAY_SOAK_RATE', RATE);
/** Requests sent and not yet answered, at most; past it the open loop counts a `backlog` error instead of sending. */
const MAX_OUTSTANDING = Math.max(1, envNumber('GATEWAY_MAX_OUTSTANDING', 2000));
const SYSTEMS = envList('GATEWAY_SYSTEMS', ['direct', 'bare', 'warbler', 'portkey'] as const);
const SCENARIOS = envList('GATEWAY_SCENARIOS', ['chat', 'responses'] as const);
const GUARDRAILS = envList('GATEWAY_GUARDRAILS', ['off', 'on'] as const);

type SystemName = (typeof SYSTEMS)[number];
type Scenario = (typeof SCENARIOS)[number];
type Guard = (typeof GUARDRAILS)[number];
/** A measured target: a system, or warbler_<scenario>_guardrails_<off|on>. */
type TargetName = string;

const FIXTURE_KEY = 'sk-bench-fixture';
/** Closed-loop rate is taken after this much of the phase, once every connection is busy. */
const CLOSED_SETTLE_MS = Math.min(1000, (CLOSED_SECONDS * 1000) / 4);

// The same bodies for every system: a short chat, as an app would send it. The
// system prompt repeats, as an app's does; the user's question differs every
// time (a numbered suffix), so no cache of token counts or answers can serve
// the whole run from memory.
// The question carries a mobile number and an email, as support prompts do, so
// that with guardrails on every call masks two values (and restores them in
// the reply), besides matching against the word list.
let bodies = 0;
const SYSTEM_PROMPT = 'You are a concise assistant for a chat app.';
const question = () =>
  `In one sentence: why do gateways keep a ledger of every model call? I am on 13800138000, mail ops@example.com (question ${++bodies})`;
const chatBody = (): string =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: question() },
    ],
    max_tokens: 64,
    temperature: 0.2,
  });
/** The same call in the Responses API: Warbler sends the fixture the chat completion above. */
const responsesBody = (): string =>
  JSON.stringify({ model: 'gpt-4o-mini', instructions: SYSTEM_PROMPT, input: question(), max_output_tokens: 64, temperature: 0.2 });

const SCENARIO_PATH: Record<Scenario, { path: string; body: () => string; answered: string }> = {
  chat: { path: '/v1/chat/completions', body: chatBody, answered: '"choices"' },
  responses: { path: '/v1/responses', body: responsesBody, answered: '"output"' },
};

interface Target {
  name: TargetName;
  origin: string;
  path: string;
  body: () => string;
  /** What a real answer contains (a 200 without it is a gateway answering something else). */
  answered: string;
  headers: Record<string, string>;
  /** The gateway's process, for RSS and CPU; none for direct. */
  process?: { pid: number; rssKb(): number; cpuMs(): number };
}

class Stats {
  latency = new Latency();
  /** x-warbler-overhead-ms: the time Warbler says it spent, upstream excluded. */
  overhead = new Latency();
  ok = 0;
  errors: Record<string, number> = {};
  private logged = 0;

  error(code: string, detail?: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    if (detail && this.logged++ < 3) log(`  error ${code}: ${detail.slice(0, 300)}`);
  }
}

async function request(pool: Pool, t: Target, stats: Stats, from: number): Promise<void> {
  try {
    const res = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body: t.body() });
    const text = await res.body.text();
    const done = performance.now();
    // A 200 without choices (or output) would be a gateway answering something else; it must not count as a completion.
    if (res.statusCode !== 200 || !text.includes(t.answered)) return stats.error(String(res.statusCode), text);
    stats.ok++;
    stats.latency.recordMs(done - from);
    const overhead = res.headers['x-warbler-overhead-ms'];
    if (typeof overhead === 'string') stats.overhead.recordMs(Number(overhead));
  } catch (err) {
    const e = err as { code?: string; message?: string };
    stats.error(e.code ?? 'request_error', e.message);
  }
}

/** Request n is due at start + n/rate; its latency counts from then, whatever the generator or server was doing. */
function openLoop(pool: Pool, t: Target, rate: number, seconds: number, stats: Stats, onSecond?: (s: number) => void): Promise<void> {
  const interval = 1000 / rate;
  const total = Math.round(rate * seconds);
  const start = performance.now() + 5;
  let n = 0;
  let inflight = 0;
  let lastSecond = 0;
  return new Promise((resolve) => {
    const finish = () => {
      if (n >= total && inflight === 0) resolve();
    };
    const tick = () => {
      const now = performance.now();
      while (n < total) {
        const due = start + n * interval;
        if (due > now) break;
        // A server that cannot keep up would otherwise grow an unbounded queue here and stretch the phase without end.
        if (inflight >= MAX_OUTSTANDING) {
          stats.error('backlog');
          n++;
          continue;
        }
        inflight++;
        void request(pool, t, stats, due).finally(() => {
          inflight--;
          finish();
        });
        n++;
      }
      const second = Math.floor((now - start) / 1000);
      if (onSecond && second > lastSecond) {
        lastSecond = second;
        onSecond(second);
      }
      if (n < total) setTimeout(tick, 1);
      else finish();
    };
    setTimeout(tick, 5);
  });
}

/** CONCURRENCY workers, each sending its next request as soon as the last one answered. */
async function closedLoop(pool: Pool, t: Target, seconds: number, stats: Stats): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let settled: { at: number; ok: number } | undefined;
  const settleTimer = setTimeout(() => (settled = { at: performance.now(), ok: stats.ok }), CLOSED_SETTLE_MS);
  const worker = async () => {
    while (performance.now() < end) await request(pool, t, stats, performance.now());
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  clearTimeout(settleTimer);
  const from = settled ?? { at: end - seconds * 1000, ok: 0 };
  return ((stats.ok - from.ok) * 1000) / (performance.now() - from.at);
}

interface CpuPct {
  gateway_pct: number;
  fixture_pct: number;
  bench_pct: number;
  other_pct: number;
}

/** CPU per process over a window, in % of one core (200 % = the whole machine). */
function cpuWindow(t: Target, fixture: FixtureProcess): () => CpuPct {
  const at = performance.now();
  const g0 = t.process?.cpuMs() ?? 0;
  const f0 = fixture.cpuMs();
  const own0 = ownCpuMs();
  const m0 = machineBusyMs();
  return () => {
    const wall = performance.now() - at;
    const pct = (x: number) => round((x / wall) * 100, 0);
    const g = (t.process?.cpuMs() ?? 0) - g0;
    const f = fixture.cpuMs() - f0;
    const own = ownCpuMs() - own0;
    return { gateway_pct: pct(g), fixture_pct: pct(f), bench_pct: pct(own), other_pct: Math.max(0, pct(machineBusyMs() - m0 - g - f - own)) };
  };
}

/** Peak RSS of the gateway while it is measured. */
function rssPeak(t: Target): () => number | null {
  if (!t.process) return () => null;
  const proc = t.process;
  let peak = proc.rssKb();
  const timer = setInterval(() => (peak = Math.max(peak, proc.rssKb())), 250);
  return () => {
    clearInterval(timer);
    return round(Math.max(peak, proc.rssKb()) / 1024, 1);
  };
}

const pct = (s: Stats, p: number) => s.latency.percentileMs(p);

interface SystemResult {
  p50_ms: number | null;
  p99_ms: number | null;
  max_rps: number;
  overhead_p99_ms?: number | null;
  overhead_p50_ms?: number | null;
  rss_mb?: number | null;
  p999_ms: number | null;
  open_ok: number;
  open_errors: Record<string, number>;
  closed_p50_ms: number | null;
  closed_p99_ms: number | null;
  closed_errors: Record<string, number>;
  cpu_pct: { open: CpuPct; closed: CpuPct };
  /** The gateway's CPU per answered request in the closed loop (ms): unlike rates, barely moved by other load on the machine. */
  cpu_ms_per_req: number | null;
}

async function measure(t: Target, fixture: FixtureProcess): Promise<SystemResult> {
  const pool = new Pool(t.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
  try {
    const stopRss = rssPeak(t);
    const warm = new Stats();
    log(`${t.name}: warm-up ${WARMUP_SECONDS} s at ${RATE} req/s`);
    await openLoop(pool, t, RATE, WARMUP_SECONDS, warm);
    if (warm.ok === 0) throw new Error(`${t.name}: no request succeeded during warm-up (${JSON.stringify(warm.errors)})`);
    await sleep(500);

    const open = new Stats();
    const openCpu = cpuWindow(t, fixture);
    await openLoop(pool, t, RATE, OPEN_SECONDS, open);
    const openCpuPct = openCpu();
    log(
      `${t.name}: open loop ${RATE} req/s × ${OPEN_SECONDS} s: ${open.ok} ok, errors ${JSON.stringify(open.errors)}, ` +
        `p50 ${pct(open, 50)} ms, p99 ${pct(open, 99)} ms, p99.9 ${pct(open, 99.9)} ms` +
        (open.overhead.count ? `, overhead p50 ${open.overhead.percentileMs(50)} ms p99 ${open.overhead.percentileMs(99)} ms` : '') +
        `; ${cpuText(openCpuPct)}`,
    );
    await sleep(1000);

    const closed = new Stats();
    const closedCpu = cpuWindow(t, fixture);
    const maxRps = await closedLoop(pool, t, CLOSED_SECONDS, closed);
    const closedCpuPct = closedCpu();
    const rss = stopRss();
    log(
      `${t.name}: closed loop, ${CONCURRENCY} in flight × ${CLOSED_SECONDS} s: ${Math.round(maxRps)} req/s, errors ${JSON.stringify(closed.errors)}, ` +
        `p50 ${pct(closed, 50)} ms, p99 ${pct(closed, 99)} ms; ${cpuText(closedCpuPct)}${rss === null ? '' : `; peak rss ${rss} MB`}`,
    );
    return {
      p50_ms: pct(open, 50),
      p99_ms: pct(open, 99),
      max_rps: Math.round(maxRps),
      ...(t.name.startsWith('warbler') ? { overhead_p99_ms: open.overhead.percentileMs(99), overhead_p50_ms: open.overhead.percentileMs(50) } : {}),
      ...(rss === null ? {} : { rss_mb: rss }),
      p999_ms: pct(open, 99.9),
      open_ok: open.ok,
      open_errors: open.errors,
      closed_p50_ms: pct(closed, 50),
      closed_p99_ms: pct(closed, 99),
      closed_errors: closed.errors,
      cpu_pct: { open: openCpuPct, closed: closedCpuPct },
      cpu_ms_per_req: t.process && maxRps > 0 ? round((closedCpuPct.gateway_pct * 10) / maxRps, 3) : null,
    };
  } finally {
    await pool.close();
  }
}

function cpuText(c: CpuPct): string {
  const warn = c.other_pct > 10 ? ` — WARNING: other processes used ${c.other_pct}% of a core, figures are skewed` : '';
  return `cpu % of one core: gateway ${c.gateway_pct}, fixture ${c.fixture_pct}, bench ${c.bench_pct}, other ${c.other_pct}${warn}`;
}

// ---------------------------------------------------------------- systems

/** 1,000 words, half English, half Chinese: a list an operator might load; none of them is in the bench's prompt. */
function benchWords(): string[] {
  const han = '的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵硬麦蒋操耶阻订彩抽赞魔纷沿喊违妹浪汇币丰蓝殊献桌啦瓦莱援译夺汽烧距裁偏符勇触课敬哭懂墙袭召罚侠厅拜巧侧韩冒债曼融惯享戴童犹乘挂奖绍厚纵障讯涉彻刊丈爆乌役描洗玛患妙镜唱烦签仙彼弗症仿倾牌陷鸟轰咱菜闭奋庆撤泪茶疾缘播朗杜奶季丹狗尾仪偷奔珠虫驻孔宜艾桥淡翼恨繁寒伴叹旦愈潮粮缩罢聚径恰挑袋灰捕徐珍幕映裂泰隔启尖忠累炎暂估泛荒偿横拒瑞忆孤鼻闹羊呆厉衡胞零穷舍码赫婆魂灾洪腿胆津俗辩胸晓劲贫仁偶辑邦恢赖圈摸仰润堆碰艇稍迟辆废净凶署壁御奉旋冬矿抬蛋晨伏吹鸡倍糊秦盾杯租骑乏隆诊奴摄丧污渡旗甘耐凭扎抢绪粗肩梁幻菲皆碎宙叔岩荡综爬荷悉蒂返井壮薄悄扫敏碍殖详迪矛霍允幅撒剩凯颗骂赏液番箱贴漫酸郎腰舒眉忧浮辛恋餐吓挺励辞艘键伍峰尺昨黎辈贯侦滑券崇扰宪绕趋慈乔阅汗枝拖墨胁插箭腊粉泥氏彭拔骗凤慧媒佩愤扑龄驱惜豪掩兼跃尸肃帕驶堡届欣惠册储飘桑闲惨洁踪勃宾频仇磨递邪撞拟滚奏巡颜剂绩贡疯坡瞧截燃焦殿伪柳锁逼颇昏劝呈搜勤戒驾漂饮曹朵仔柔俩孟腐幼践籍牧凉牲佳娜浓芳稿竹腹跌逻垂遵脉貌柏狱猜怜惑陶兽帐饰贷昌叙躺钢沟寄扶铺邓寿惧询汤盗肥尝匆辉奈扣廷澳嘛董迁凝慰厌脏腾幽怨鞋丢埋泉涌辖躲晋紫艰魏吾慌祝邮吐狠鉴';
  const letters = 'bcdfghjklmnpqrstvwxz';
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const pick = (from: string, n: number) => Array.from({ length: n }, () => from[rnd(from.length)]).join('');
  const words = new Set<string>();
  // Consonants only in English words, so none of them is a word of the prompt.
  while (words.size < 1000) words.add(words.size % 2 === 0 ? `q${pick(letters, 5 + rnd(4))}` : `禁${pick(han, 1 + rnd(3))}`);
  return [...words];
}

/** warbler.yaml for the bench: a policy "bench" (a 1,000-word mask list, mobile numbers and emails masked and restored); "off" is built in. */
function guardrailsConfig(dir: string): string {
  const file = join(dir, 'warbler.yaml');
  // JSON is YAML.
  writeFileSync(file, JSON.stringify({
    guardrails: {
      lists: { bench: { action: 'mask', words: benchWords() } },
      pii: false,
      policies: { bench: { lists: ['bench'], pii: { mask: ['mobile', 'email'], restore_in_reply: true } } },
    },
  }));
  return file;
}

interface WarblerKeys {
  server: WarblerProcess;
  /** Guardrails off / on → the key's bearer secret. */
  secrets: Record<Guard, string>;
}

async function startWarblerWithKeys(fixture: FixtureProcess, cpu: number | undefined): Promise<WarblerKeys> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-bench-'));
  const server = await startWarbler({ cpu, env: {
      OPENAI_API_KEY: FIXTURE_KEY, OPENAI_BASE_URL: fixture.baseUrl, WARBLER_CONFIG: guardrailsConfig(dir),
      // The per-key cap on calls running at once (16 by default) would refuse the closed loop's 32 and the open loop's bursts.
      WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY: '100000',
    },
  });
  const stop = server.stop;
  server.stop = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { secret } = await createApp(server, `gateway-bench-${Date.now()}`);
    const key = async (guard: Guard) =>
      // Limits far above what the bench sends, so they are checked on every request and never refuse one.
      (await api<{ key: { id: string }; secret: string }>(server.url, 'POST', '/api/gateway/keys', secret, {
        name: `gateway bench, guardrails ${guard}`,
        allowed_models: ['gpt-4o-mini'],
        monthly_budget_usd: 1_000_000,
        rpm: 10_000_000,
        tpm: 10_000_000_000,
        metadata: { team: 'bench', guardrails: guard === 'on' ? 'bench' : 'off' },
      })).secret;
    return { server, secrets: { off: await key('off'), on: await key('on') } };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

function warblerTarget(w: WarblerKeys, scenario: Scenario, guard: Guard): Target {
  return {
    name: `warbler_${scenario}_guardrails_${guard}`,
    origin: w.server.url,
    ...SCENARIO_PATH[scenario],
    headers: { authorization: `Bearer ${w.secrets[guard]}`, 'content-type': 'application/json' },
    process: w.server,
  };
}

async function bareTarget(fixture: FixtureProcess, cpu: number | undefined) {
  const port = await freePort();
  const child = await startChild({
    name: 'bare',
    nodeArgs: ['--import', 'tsx', 'bench/peers/bare-proxy.ts'],
    port,
    readyPath: '/healthz',
    cpu,
    env: { PEER_PORT: String(port), PEER_UPSTREAM: fixture.url },
  });
  const target: Target = {
    name: 'bare', origin: child.url, ...SCENARIO_PATH.chat,
    headers: { authorization: `Bearer ${FIXTURE_KEY}`, 'content-type': 'application/json' }, process: child,
  };
  return { target, child };
}

async function portkeyTarget(fixture: FixtureProcess, cpu: number | undefined) {
  const port = await freePort();
  // --headless: no web console, and no log stream kept for it; the proxy path is the same.
  const child = await startChild({
    name: 'portkey',
    nodeArgs: [`${repoRoot}node_modules/@portkey-ai/gateway/build/start-server.js`, `--port=${port}`, '--headless'],
    port,
    readyPath: '/',
    cpu,
    env: { NODE_ENV: 'production' },
  });
  const target: Target = {
    name: 'portkey',
    origin: child.url,
    ...SCENARIO_PATH.chat,
    headers: {
      authorization: `Bearer ${FIXTURE_KEY}`,
      'content-type': 'application/json',
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': fixture.baseUrl,
    },
    process: child,
  };
  return { target, child };
}

// ---------------------------------------------------------------- soak

interface SoakResult {
  seconds: number;
  rate: number;
  ok: number;
  errors: Record<string, number>;
  p50_ms: number | null;
  p99_ms: number | null;
  overhead_p99_ms: number | null;
  /** RSS under load, early in the soak (at 10 % of it, at most 30 s in) and at its end. */
  rss_start_mb: number;
  rss_end_mb: number;
  rss_peak_mb: number;
  /** JS heap after a forced full GC (the gc hook) before and after the soak: what is still referenced. */
  heap_start_mb: number | null;
  heap_end_mb: number | null;
  rss_samples_mb: number[];
}

async function soak(server: WarblerProcess, t: Target): Promise<SoakResult> {
  const pool = new Pool(t.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
  try {
    const gcStart = await server.gc();
    // V8 hands pages back for a while after a GC; let that settle so "start" is not a moving target.
    await sleep(3000);
    // Start and end are both read under the same load: a reading taken idle would flatter the end or the start.
    const startAt = Math.min(30, Math.max(1, Math.floor(SOAK_SECONDS / 10)));
    log(`warbler soak: ${SOAK_SECONDS} s at ${SOAK_RATE} req/s; rss read at ${startAt} s and at the end, both under load`);
    const stats = new Stats();
    const samples: number[] = [];
    let rssStart = server.rssKb();
    let rssEnd = rssStart;
    let peak = rssStart;
    const every = Math.max(1, Math.round(SOAK_SECONDS / 10));
    await openLoop(pool, t, SOAK_RATE, SOAK_SECONDS, stats, (s) => {
      const kb = server.rssKb();
      peak = Math.max(peak, kb);
      rssEnd = kb;
      if (s === startAt) rssStart = kb;
      if (s % every === 0) {
        samples.push(round(kb / 1024, 1));
        log(`  soak ${s} s: rss ${round(kb / 1024, 1)} MB, ${stats.ok} ok, p99 so far ${pct(stats, 99)} ms`);
      }
    });
    rssEnd = server.rssKb();
    await sleep(1000);
    const gcEnd = await server.gc();
    const result: SoakResult = {
      seconds: SOAK_SECONDS,
      rate: SOAK_RATE,
      ok: stats.ok,
      errors: stats.errors,
      p50_ms: pct(stats, 50),
      p99_ms: pct(stats, 99),
      overhead_p99_ms: stats.overhead.percentileMs(99),
      rss_start_mb: round(rssStart / 1024, 1),
      rss_end_mb: round(rssEnd / 1024, 1),
      rss_peak_mb: round(peak / 1024, 1),
      heap_start_mb: gcStart?.collected ? round(gcStart.heapUsed / 1048576, 1) : null,
      heap_end_mb: gcEnd?.collected ? round(gcEnd.heapUsed / 1048576, 1) : null,
      rss_samples_mb: samples,
    };
    log(
      `warbler soak: ${result.ok} ok, errors ${JSON.stringify(result.errors)}, p99 ${result.p99_ms} ms; ` +
        `rss ${result.rss_start_mb} → ${result.rss_end_mb} MB (peak ${result.rss_peak_mb}), heap after GC ${result.heap_start_mb} → ${result.heap_end_mb} MB`,
    );
    return result;
  } finally {
    await pool.close();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const pin = pinningEnabled();
  // Children inherit this affinity: the fixture shares the bench's core unless told otherwise.
  if (pin) pinSelf(1);
  const gatewayCpu = pin ? 0 : undefined;
  log(
    `gateway: non-streaming, open loop ${RATE} req/s (${WARMUP_SECONDS} s warm-up + ${OPEN_SECONDS} s), ` +
      `closed loop ${CONCURRENCY} in flight × ${CLOSED_SECONDS} s, systems ${SYSTEMS.join(', ')}, Warbler scenarios ${SCENARIOS.join(', ')} ` +
      `with guardrails ${GUARDRAILS.join(', ')}, soak ${SOAK_SECONDS} s at ${SOAK_RATE} req/s. ` +
      `2 cores shared by bench, fixture and gateway: ${pin ? 'gateway pinned to cpu 0, bench + fixture to cpu 1' : 'unpinned'}`,
  );
  const fixture = await startFixture({ apiKey: FIXTURE_KEY, text: 'Because cost, limits and audits all need one exact record of every call.' });
  const systems: Record<TargetName, SystemResult | null> = {};
  const failures: Record<TargetName, string> = {};
  let soakResult: SoakResult | undefined;
  const attempt = async (name: TargetName, run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`${name}: FAILED: ${message}`);
      systems[name] = null;
      failures[name] = message.split('\n')[0] ?? message;
    }
  };
  try {
    for (const name of SYSTEMS) {
      await waitForQuiet();
      if (name === 'direct') {
        await attempt(name, async () => {
          systems.direct = await measure({ name, origin: fixture.url, ...SCENARIO_PATH.chat, headers: { authorization: `Bearer ${FIXTURE_KEY}`, 'content-type': 'application/json' } }, fixture);
        });
      } else if (name === 'warbler') {
        // One Warbler process for every scenario, as one server carries them all; each gets its own warm-up.
        await attempt(name, async () => {
          const w = await startWarblerWithKeys(fixture, gatewayCpu);
          try {
            for (const scenario of SCENARIOS) {
              for (const guard of GUARDRAILS) {
                const t = warblerTarget(w, scenario, guard);
                await waitForQuiet();
                await attempt(t.name, async () => {
                  systems[t.name] = await measure(t, fixture);
                });
              }
            }
            if (SOAK_SECONDS > 0) {
              await sleep(2000);
              soakResult = await soak(w.server, warblerTarget(w, SCENARIOS[0] ?? 'chat', 'off'));
            }
          } finally {
            await w.server.stop();
          }
        });
      } else {
        const start = name === 'bare' ? bareTarget : portkeyTarget;
        await attempt(name, async () => {
          const { target, child } = await start(fixture, gatewayCpu);
          try {
            systems[name] = await measure(target, fixture);
          } finally {
            await child.stop();
          }
        });
      }
    }
  } finally {
    await fixture.stop();
  }

  const targets = summary(systems);
  log(`targets: ${JSON.stringify(targets)}` + (soakResult ? `; soak rss ${soakResult.rss_start_mb} → ${soakResult.rss_end_mb} MB` : ''));
  const result = {
    bench: 'gateway',
    rps: RATE,
    systems,
    ...(soakResult ? { soak: soakResult } : {}),
    targets,
    ...(Object.keys(failures).length ? { failures } : {}),
    setup: {
      rate: RATE,
      warmup_s: WARMUP_SECONDS,
      open_s: OPEN_SECONDS,
      closed_s: CLOSED_SECONDS,
      concurrency: CONCURRENCY,
      scenarios: SCENARIOS,
      guardrails: GUARDRAILS,
      pinned: pin,
      note: '2 cores shared by bench, fixture and gateway' + (pin ? ' (gateway on cpu 0, bench + fixture on cpu 1)' : ' (unpinned)'),
    },
  };
  // Exit explicitly: keep-alive sockets would otherwise hold the process.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

/**
 * Issue 17's figures, per Warbler scenario and guardrails setting: max rate as
 * a fraction of the bare proxy's (target ≥ 0.8), p99 at the fixed rate as a
 * multiple of direct's (target ≤ 2), and what guardrails on cost in max rate
 * (1 − on/off; target ≤ 0.10). Portkey's ratio as before.
 */
function summary(systems: Record<TargetName, SystemResult | null>) {
  const d = systems.direct;
  const bare = systems.bare;
  const out: Record<string, number | boolean | null> = {};
  for (const scenario of SCENARIOS) {
    for (const guard of GUARDRAILS) {
      const w = systems[`warbler_${scenario}_guardrails_${guard}`];
      const tag = `${scenario}_guardrails_${guard}`;
      const vsBare = w && bare && bare.max_rps > 0 ? round(w.max_rps / bare.max_rps, 2) : null;
      const p99 = w && d && d.p99_ms && w.p99_ms !== null ? round(w.p99_ms / d.p99_ms, 2) : null;
      out[`${tag}_max_rps_vs_bare`] = vsBare;
      out[`${tag}_max_rps_vs_bare_ok`] = vsBare === null ? null : vsBare >= 0.8;
      out[`${tag}_p99_vs_direct`] = p99;
      out[`${tag}_p99_vs_direct_ok`] = p99 === null ? null : p99 <= 2;
      // The max-rate ratio as CPU per request predicts it (bare's CPU ÷ Warbler's): what a loaded machine cannot skew as much.
      out[`${tag}_cpu_per_req_bare_over_warbler`] = w?.cpu_ms_per_req && bare?.cpu_ms_per_req ? round(bare.cpu_ms_per_req / w.cpu_ms_per_req, 2) : null;
    }
    const off = systems[`warbler_${scenario}_guardrails_off`];
    const on = systems[`warbler_${scenario}_guardrails_on`];
    const cost = off && on && off.max_rps > 0 ? round(1 - on.max_rps / off.max_rps, 3) : null;
    out[`${scenario}_guardrails_cost`] = cost;
    out[`${scenario}_guardrails_cost_ok`] = cost === null ? null : cost <= 0.1;
  }
  const w = systems.warbler_chat_guardrails_off;
  const p = systems.portkey;
  out.max_rps_vs_portkey = w && p && p.max_rps > 0 ? round(w.max_rps / p.max_rps, 2) : null;
  return out;
}

await main();
