// What guardrails add to one /v1 chat call, in µs of CPU, in-process: the
// work `bench/gateway-cpu.ts`'s chat_on does that chat_off does not, without
// the HTTP, the router and the upstream around it, so a busy machine moves
// it less. Per call: the bench policy (a 1,000-word mask list, mobile numbers
// and emails masked and restored) screens a system prompt and a question with
// a mobile number and an email; the reply is restored; the interventions are
// logged as app.ts logs them (pino to /dev/null, asynchronous, 4 KB writes),
// counted in the /metrics counter and recorded by the InterventionLog (its
// store a no-op: the SQLite rows are the same in both trees).
//
// GUARDRAILS_CALL_TREES: comma-separated roots of Warbler trees (default: this
// one); each tree's own guardrails room and Metrics are loaded, and the trees
// take turns, GUARDRAILS_CALL_ROUNDS rounds of GUARDRAILS_CALL_N calls each,
// CPU time from process.cpuUsage() (all threads: the log's writes too). Median per tree; the last stdout line is
// one JSON object.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { envNumber, log } from './lib/util.ts';

const TREES = (process.env.GUARDRAILS_CALL_TREES ?? resolve(import.meta.dirname, '..')).split(',').map((t) => resolve(t.trim()));
const ROUNDS = envNumber('GUARDRAILS_CALL_ROUNDS', 15);
const N = envNumber('GUARDRAILS_CALL_N', 2000);

const pino = createRequire(import.meta.url)('pino') as typeof import('pino').default;

function benchWords(): string[] {
  // The same list as bench/gateway.ts's (none of its words is in the prompt).
  const letters = 'bcdfghjklmnpqrstvwxz';
  const han = '的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵硬麦蒋操耶阻订彩抽赞魔纷沿喊违妹浪汇币丰蓝殊献桌啦瓦莱援译夺汽烧距裁偏符勇触课敬哭懂墙袭召罚侠厅拜巧侧韩冒债曼融惯享戴童犹乘挂奖绍厚纵障讯涉彻刊丈爆乌役描洗玛患妙镜唱烦签仙彼弗症仿倾牌陷鸟轰咱菜闭奋庆撤泪茶疾缘播朗杜奶季丹狗尾仪偷奔珠虫驻孔宜艾桥淡翼恨繁寒伴叹旦愈潮粮缩罢聚径恰挑袋灰捕徐珍幕映裂泰隔启尖忠累炎暂估泛荒偿横拒瑞忆孤鼻闹羊呆厉衡胞零穷舍码赫婆魂灾洪腿胆津俗辩胸晓劲贫仁偶辑邦恢赖圈摸仰润堆碰艇稍迟辆废净凶署壁御奉旋冬矿抬蛋晨伏吹鸡倍糊秦盾杯租骑乏隆诊奴摄丧污渡旗甘耐凭扎抢绪粗肩梁幻菲皆碎宙叔岩荡综爬荷悉蒂返井壮薄悄扫敏碍殖详迪矛霍允幅撒剩凯颗骂赏液番箱贴漫酸郎腰舒眉忧浮辛恋餐吓挺励辞艘键伍峰尺昨黎辈贯侦滑券崇扰宪绕趋慈乔阅汗枝拖墨胁插箭腊粉泥氏彭拔骗凤慧媒佩愤扑龄驱惜豪掩兼跃尸肃帕驶堡届欣惠册储飘桑闲惨洁踪勃宾频仇磨递邪撞拟滚奏巡颜剂绩贡疯坡瞧截燃焦殿伪柳锁逼颇昏劝呈搜勤戒驾漂饮曹朵仔柔俩孟腐幼践籍牧凉牲佳娜浓芳稿竹腹跌逻垂遵脉貌柏狱猜怜惑陶兽帐饰贷昌叙躺钢沟寄扶铺邓寿惧询汤盗肥尝匆辉奈扣廷澳嘛董迁凝慰厌脏腾幽怨鞋丢埋泉涌辖躲晋紫艰魏吾慌祝邮吐狠鉴';
  let seed = 7;
  const rnd = (k: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % k;
  const pick = (from: string, k: number) => Array.from({ length: k }, () => from[rnd(from.length)]).join('');
  const out = new Set<string>();
  while (out.size < 1000) out.add(out.size % 2 === 0 ? `q${pick(letters, 5 + rnd(4))}` : `禁${pick(han, 1 + rnd(3))}`);
  return [...out];
}

interface Tree {
  root: string;
  call(i: number): void;
}

async function load(root: string): Promise<Tree> {
  const src = (p: string) => pathToFileURL(resolve(root, 'packages/server/src', p)).href;
  const g = await import(src('guardrails/index.ts'));
  const { Metrics } = await import(src('metrics/index.ts'));
  const metrics = new Metrics({ processMetrics: false });
  const interventions = new g.InterventionLog({ store: { insert: async () => {}, list: async () => [], rules: async () => [], prune: async () => 0 }, retentionDays: 90 });
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 }));
  // The wiring of each tree's app.ts: one log line per intervention before issue 17's fixes, one per screening step after.
  // GUARDRAILS_CALL_PARTS=screen: the screen and the restore alone, the interventions dropped (not logged, counted or recorded).
  const screenOnly = process.env.GUARDRAILS_CALL_PARTS === 'screen';
  const perStep = readFileSync(resolve(root, 'packages/server/src/guardrails/screen.ts'), 'utf8').includes('onInterventions(');
  const deps = screenOnly ? { onInterventions: () => {}, onIntervention: () => {} } : perStep
    ? {
        onInterventions: (fired: Array<{ rule: string; action: string; path: string; count: number; app_id: string; who: string | null; policy: string; word?: string }>) => {
          let block = false;
          let rules = '';
          for (const i of fired) {
            metrics.guardrail(i.rule, i.action, i.path, i.count);
            interventions.record(i);
            if (i.action === 'block') block = true;
            rules += `${rules ? ', ' : ''}${i.rule} ${i.action}`;
          }
          const { path, app_id, who, policy } = fired[0]!;
          const guardrails = fired.map(({ rule, action, count, word }) => (word === undefined ? { rule, action, count } : { rule, action, count, word }));
          logger[block ? 'warn' : 'info']({ guardrails, path, app_id, who, policy }, `guardrail ${rules} on ${path}`);
        },
      }
    : {
        onIntervention: (i: { rule: string; action: string; path: string; count: number }) => {
          metrics.guardrail(i.rule, i.action, i.path, i.count);
          interventions.record(i);
          logger[i.action === 'block' ? 'warn' : 'info']({ guardrail: i }, `guardrail ${i.rule}: ${i.action} on ${i.path}`);
        },
      };
  const guardrails = new g.Guardrails({
    lists: [{ name: 'bench', action: 'mask', words: benchWords() }], allow: [], pii: { mask: [], restoreInReply: false }, injectionScreen: true,
    policies: { bench: { lists: ['bench'], pii: { mask: ['mobile', 'email'], restoreInReply: true } } }, apps: {},
  }, deps);
  return {
    root,
    call(i) {
      const screen = guardrails.screen({ appId: 'app_bench', path: 'v1', who: 'key_bench0000000000000000', policy: 'bench' })!;
      screen.messages([
        { role: 'system', content: 'You are a concise assistant for a chat app.' },
        { role: 'user', content: `In one sentence: why do gateways keep a ledger of every model call? I am on 13800138000, mail ops@example.com (question ${i})` },
      ]);
      if (screen.restore('A ledger records each call, so [PHONE_1] and [EMAIL_1] can see what was spent.').length === 0) throw new Error('unreachable');
    },
  };
}

const trees: Tree[] = [];
for (const root of TREES) trees.push(await load(root));
const perCall = new Map<string, number[]>(trees.map((t) => [t.root, []]));
let i = 0;
/** N calls, the event loop turning every 16 (the server's concurrency), so the log's writes and the store's batches happen as they would. */
async function calls(t: Tree): Promise<void> {
  for (let k = 0; k < N; k++) {
    t.call(i++);
    if (k % 16 === 15) await new Promise(setImmediate);
  }
}
for (const t of trees) await calls(t); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const t of trees) {
    const c0 = process.cpuUsage();
    await calls(t);
    const c = process.cpuUsage(c0);
    perCall.get(t.root)!.push((c.user + c.system) / N);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const result: Record<string, unknown> = { bench: 'guardrails-call', parts: process.env.GUARDRAILS_CALL_PARTS ?? 'all', calls_per_round: N, rounds: ROUNDS };
for (const t of trees) {
  const xs = perCall.get(t.root)!;
  result[t.root] = { us_per_call_median: Math.round(median(xs) * 10) / 10, min: Math.round(Math.min(...xs) * 10) / 10, max: Math.round(Math.max(...xs) * 10) / 10 };
  log(`${t.root}: ${median(xs).toFixed(1)} µs CPU per call (median of ${ROUNDS}; ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`);
}
console.log(JSON.stringify(result));
