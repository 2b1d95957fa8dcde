// CPU per request of Warbler's /v1 and of the bare proxy, measured as the
// server process's CPU time (from /proc) over a closed loop of requests, in
// one run: what `bench:gateway` judges the targets of issue 17 by, without
// its wall-clock phases, so it stays readable on a machine other sessions
// keep busy. Cases (GATEWAY_CPU_CASES, default all):
//   bare         — bench/peers/bare-proxy.ts, the chat call passed through;
//   chat_off     — non-streaming chat completion, a key with guardrails off;
//   chat_on      — the same with the bench policy (1,000-word mask list,
//                  mobile numbers and emails masked and restored);
//   stream_off   — the same chat call with stream: true (one chunk a word);
//   responses_off, responses_on — POST /v1/responses, translated.
// GATEWAY_CPU_REQUESTS (4,000) per case after GATEWAY_CPU_WARMUP (1,500),
// GATEWAY_CPU_CONCURRENCY (16) in flight. With
// BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" Warbler's
// profile covers the cases run (pick one with GATEWAY_CPU_CASES to read it).
// Progress to stderr; the last stdout line is one JSON object.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startFixture } from './lib/fixture.ts';
import { freePort, machineBusyMs, pinningEnabled, pinSelf, startChild } from './lib/proc.ts';
import { envList, envNumber, log, round } from './lib/util.ts';
import { api, createApp, startWarbler } from './lib/warbler.ts';

const CASES = envList('GATEWAY_CPU_CASES', ['bare', 'chat_off', 'chat_on', 'stream_off', 'responses_off', 'responses_on'] as const);
const REQUESTS = envNumber('GATEWAY_CPU_REQUESTS', 4000);
const WARMUP = envNumber('GATEWAY_CPU_WARMUP', 1500);
const CONCURRENCY = Math.max(1, envNumber('GATEWAY_CPU_CONCURRENCY', 16));
const FIXTURE_KEY = 'sk-bench-fixture';

type Case = (typeof CASES)[number];

let n = 0;
const question = () => `In one sentence: why do gateways keep a ledger of every model call? I am on 13800138000, mail ops@example.com (question ${++n})`;
const SYSTEM = 'You are a concise assistant for a chat app.';
const chat = (stream: boolean) => () =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: question() }],
    max_tokens: 64,
    temperature: 0.2,
    ...(stream && { stream: true, stream_options: { include_usage: true } }),
  });
const responses = () => JSON.stringify({ model: 'gpt-4o-mini', instructions: SYSTEM, input: question(), max_output_tokens: 64, temperature: 0.2 });

function words(): string[] {
  const letters = 'bcdfghjklmnpqrstvwxz';
  const han = '的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵硬麦蒋操耶阻订彩抽赞魔纷沿喊违妹浪汇币丰蓝殊献桌啦瓦莱援译夺汽烧距裁偏符勇触课敬哭懂墙袭召罚侠厅拜巧侧韩冒债曼融惯享戴童犹乘挂奖绍厚纵障讯涉彻刊丈爆乌役描洗玛患妙镜唱烦签仙彼弗症仿倾牌陷鸟轰咱菜闭奋庆撤泪茶疾缘播朗杜奶季丹狗尾仪偷奔珠虫驻孔宜艾桥淡翼恨繁寒伴叹旦愈潮粮缩罢聚径恰挑袋灰捕徐珍幕映裂泰隔启尖忠累炎暂估泛荒偿横拒瑞忆孤鼻闹羊呆厉衡胞零穷舍码赫婆魂灾洪腿胆津俗辩胸晓劲贫仁偶辑邦恢赖圈摸仰润堆碰艇稍迟辆废净凶署壁御奉旋冬矿抬蛋晨伏吹鸡倍糊秦盾杯租骑乏隆诊奴摄丧污渡旗甘耐凭扎抢绪粗肩梁幻菲皆碎宙叔岩荡综爬荷悉蒂返井壮薄悄扫敏碍殖详迪矛霍允幅撒剩凯颗骂赏液番箱贴漫酸郎腰舒眉忧浮辛恋餐吓挺励辞艘键伍峰尺昨黎辈贯侦滑券崇扰宪绕趋慈乔阅汗枝拖墨胁插箭腊粉泥氏彭拔骗凤慧媒佩愤扑龄驱惜豪掩兼跃尸肃帕驶堡届欣惠册储飘桑闲惨洁踪勃宾频仇磨递邪撞拟滚奏巡颜剂绩贡疯坡瞧截燃焦殿伪柳锁逼颇昏劝呈搜勤戒驾漂饮曹朵仔柔俩孟腐幼践籍牧凉牲佳娜浓芳稿竹腹跌逻垂遵脉貌柏狱猜怜惑陶兽帐饰贷昌叙躺钢沟寄扶铺邓寿惧询汤盗肥尝匆辉奈扣廷澳嘛董迁凝慰厌脏腾幽怨鞋丢埋泉涌辖躲晋紫艰魏吾慌祝邮吐狠鉴';
  let seed = 7;
  const rnd = (k: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % k;
  const pick = (from: string, k: number) => Array.from({ length: k }, () => from[rnd(from.length)]).join('');
  const out = new Set<string>();
  while (out.size < 1000) out.add(out.size % 2 === 0 ? `q${pick(letters, 5 + rnd(4))}` : `禁${pick(han, 1 + rnd(3))}`);
  return [...out];
}

interface Target {
  origin: string;
  path: string;
  body: () => string;
  answered: string;
  auth: string;
  cpuMs(): number;
}

/** Closed loop of `count` requests; returns the server's CPU ms per request and the errors. */
async function run(t: Target, count: number): Promise<{ cpuPerReq: number; otherPct: number; errors: number; rps: number }> {
  const pool = new Pool(t.origin, { connections: CONCURRENCY, pipelining: 1 });
  let sent = 0;
  let errors = 0;
  const cpu0 = t.cpuMs();
  const busy0 = machineBusyMs();
  const wall0 = performance.now();
  const worker = async () => {
    while (sent < count) {
      sent++;
      try {
        const res = await pool.request({ path: t.path, method: 'POST', headers: { authorization: t.auth, 'content-type': 'application/json' }, body: t.body() });
        const text = await res.body.text();
        if (res.statusCode !== 200 || !text.includes(t.answered)) {
          if (errors++ < 3) log(`  error ${res.statusCode}: ${text.slice(0, 200)}`);
        }
      } catch (err) {
        if (errors++ < 3) log(`  error ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wall = performance.now() - wall0;
  const cpu = t.cpuMs() - cpu0;
  const busy = machineBusyMs() - busy0;
  await pool.close();
  return { cpuPerReq: cpu / count, otherPct: Math.round(((busy - cpu) / wall) * 100), errors, rps: Math.round((count / wall) * 1000) };
}

async function main(): Promise<void> {
  const pin = pinningEnabled();
  if (pin) pinSelf(1);
  const fixture = await startFixture({ apiKey: FIXTURE_KEY, cpu: pin ? 1 : undefined });
  const results: Record<string, { cpu_ms_per_req: number; other_pct: number; errors: number; rps: number }> = {};
  const measure = async (name: Case, t: Target) => {
    await run(t, WARMUP);
    const r = await run(t, REQUESTS);
    results[name] = { cpu_ms_per_req: round(r.cpuPerReq, 3), other_pct: r.otherPct, errors: r.errors, rps: r.rps };
    log(`${name}: ${round(r.cpuPerReq, 3)} ms CPU per request (${r.rps} req/s, other processes ${r.otherPct}% of a core, ${r.errors} errors)`);
  };
  try {
    if (CASES.includes('bare')) {
      const port = await freePort();
      const child = await startChild({
        name: 'bare', nodeArgs: ['--import', 'tsx', 'bench/peers/bare-proxy.ts'], port, readyPath: '/healthz',
        cpu: pin ? 0 : undefined, env: { PEER_PORT: String(port), PEER_UPSTREAM: fixture.url },
      });
      try {
        await measure('bare', { origin: child.url, path: '/v1/chat/completions', body: chat(false), answered: '"choices"', auth: `Bearer ${FIXTURE_KEY}`, cpuMs: child.cpuMs });
      } finally {
        await child.stop();
      }
    }
    const warblerCases = CASES.filter((c) => c !== 'bare');
    if (warblerCases.length === 0) return;
    const dir = mkdtempSync(join(tmpdir(), 'gateway-cpu-'));
    const config = join(dir, 'warbler.yaml');
    writeFileSync(config, JSON.stringify({
      guardrails: {
        lists: { bench: { action: 'mask', words: words() } },
        pii: false,
        policies: { bench: { lists: ['bench'], pii: { mask: ['mobile', 'email'], restore_in_reply: true } } },
      },
    }));
    const server = await startWarbler({
      cpu: pin ? 0 : undefined,
      env: { OPENAI_API_KEY: FIXTURE_KEY, OPENAI_BASE_URL: fixture.baseUrl, WARBLER_CONFIG: config, WARBLER_GATEWAY_MAX_CONCURRENT_PER_KEY: '100000' },
    });
    try {
      const { secret } = await createApp(server, `gateway-cpu-${Date.now()}`);
      const key = async (guard: 'on' | 'off') =>
        (await api<{ secret: string }>(server.url, 'POST', '/api/gateway/keys', secret, {
          name: `gateway cpu, guardrails ${guard}`, allowed_models: ['gpt-4o-mini'], monthly_budget_usd: 1_000_000, rpm: 10_000_000, tpm: 10_000_000_000,
          metadata: { team: 'bench', guardrails: guard === 'on' ? 'bench' : 'off' },
        })).secret;
      const keys = { off: `Bearer ${await key('off')}`, on: `Bearer ${await key('on')}` };
      const base = { origin: server.url, cpuMs: server.cpuMs };
      const targets: Record<Exclude<Case, 'bare'>, Target> = {
        chat_off: { ...base, path: '/v1/chat/completions', body: chat(false), answered: '"choices"', auth: keys.off },
        chat_on: { ...base, path: '/v1/chat/completions', body: chat(false), answered: '"choices"', auth: keys.on },
        stream_off: { ...base, path: '/v1/chat/completions', body: chat(true), answered: '[DONE]', auth: keys.off },
        responses_off: { ...base, path: '/v1/responses', body: responses, answered: '"output"', auth: keys.off },
        responses_on: { ...base, path: '/v1/responses', body: responses, answered: '"output"', auth: keys.on },
      };
      for (const c of warblerCases) await measure(c, targets[c as Exclude<Case, 'bare'>]);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await fixture.stop();
    process.stdout.write(`${JSON.stringify({ bench: 'gateway-cpu', requests: REQUESTS, concurrency: CONCURRENCY, results })}\n`);
  }
}

await main();
