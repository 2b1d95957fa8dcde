// One long support chat for bench/memory.ts: a bilingual customer (English
// and Chinese in turns of realistic length) and the assistant's replies, with
// 20 facts planted in the first 40 turns and asked about from turn 120 on.
// Deterministic (a seeded PRNG), so runs compare.

export interface Fact {
  /** What the customer says, early. */
  plant: string;
  /** What the customer asks, much later, referring back to it. */
  ask: string;
  /** The specific that must still be in front of the model when it is asked. */
  value: string;
}

export interface Turn {
  user: string;
  /** The assistant's reply the upstream fixture gives. */
  reply: string;
  /** Set on the turn that plants or asks about a fact. */
  plants?: number;
  asks?: number;
}

export const FACTS: Fact[] = [
  { plant: 'Hi, my name is Daniel Whitcombe and I am the account owner, so you can talk to me about everything on this account.', ask: 'Sorry, what name do you have on file for me as the account owner?', value: 'Whitcombe' },
  { plant: 'My order number is WB-58213-K, placed on the 3rd of the month, and it still says processing.', ask: 'Which order number was it again? I need it for the refund form.', value: 'WB-58213-K' },
  { plant: '我的快递单号是 SF1402938475，显示已经三天没有更新了，麻烦帮我查一下。', ask: '你还记得我的快递单号吗？我想自己去顺丰网站查一下。', value: 'SF1402938475' },
  { plant: 'Please send every confirmation to my email d.whitcombe@fastmail.com rather than the old work address.', ask: 'Which email address will the confirmation go to? The one I gave you earlier, right?', value: 'd.whitcombe@fastmail.com' },
  { plant: '我的手机号是 139 2071 4468，快递员到了可以直接打这个电话。', ask: '我之前留的手机号是多少？我怕写错了。', value: '139 2071 4468' },
  { plant: 'The shipping address is 42 Larkspur Lane, Apt 5B, Portland, OR 97205, please do not use the billing address.', ask: 'What shipping address do you have for me now? I want to be sure it is not the billing one.', value: '42 Larkspur Lane' },
  { plant: '我的会员号是 VIP-88317，上个月刚升级成金卡会员。', ask: '用我的会员号帮我查一下现在有多少积分？', value: 'VIP-88317' },
  { plant: 'The colour I want is midnight teal, size medium, not the navy one that was in the first photo.', ask: 'Remind me which colour and size I picked for the jacket?', value: 'midnight teal' },
  { plant: '发票抬头写：杭州青禾科技有限公司，税号 91330106MA2B3C4D5E。', ask: '发票抬头和税号是什么来着？财务让我再核对一遍。', value: '91330106MA2B3C4D5E' },
  { plant: 'The serial number on the bottom of the router is RTX-4471-0098, in case the warranty needs it.', ask: 'What was the router serial number I read out? The warranty form asks for it.', value: 'RTX-4471-0098' },
  { plant: 'My daughter\'s birthday is on March 14, so the gift really has to arrive before then.', ask: 'When did I say my daughter\'s birthday is? Will the gift arrive before the birthday?', value: 'March 14' },
  { plant: '周三下午三点以后家里才有人收货，其他时间都没人在家。', ask: '我说过家里哪天几点以后有人收货来着？', value: '周三下午三点' },
  { plant: 'There is already a support ticket T-20931 from last month about the same broken hinge.', ask: 'Can you look at that old support ticket about the hinge I mentioned?', value: 'T-20931' },
  { plant: 'I paid with the Visa card ending in 4417, the one under my own name.', ask: 'Which card did I pay with? Please refund it to the same Visa card.', value: '4417' },
  { plant: '退款请退到我的支付宝账号 zw_1987@163.com，不要退到银行卡。', ask: '退款会退到哪个支付宝账号？', value: 'zw_1987@163.com' },
  { plant: 'I also have a coupon code SPRING-25-QX that I forgot to enter at checkout.', ask: 'Did you apply the coupon code I gave you? It was the spring one.', value: 'SPRING-25-QX' },
  { plant: 'The gift card should say: Happy 40th, Marguerite! Love from all of us.', ask: 'What was the gift card message again? I want to check the spelling of the name.', value: 'Marguerite' },
  { plant: '收货地址：上海市徐汇区漕溪北路88弄3号1202室，电梯坏了请提前说一声。', ask: '我的收货地址是哪里来着？是不是漕溪北路那个？', value: '漕溪北路88弄' },
  { plant: 'My flight is CA1832 on the 22nd, so I need the adapter delivered before I fly.', ask: 'What flight did I say I am on? I want to be sure the adapter comes before the flight.', value: 'CA1832' },
  { plant: '我们公司这边的对接人是采购部的李婷婷，有问题可以直接找她。', ask: '我们这边的对接人是谁？采购部那位叫什么名字？', value: '李婷婷' },
];

export const SYSTEM_PROMPT = [
  'You are the customer support assistant of Acme Home, an online shop for home goods, small electronics and gifts that ships across the United States and mainland China.',
  'Answer in the language the customer writes in. Be warm, brief and concrete: say what you checked, what happens next and when.',
  'You can look up orders, shipments, invoices, refunds, memberships, coupons and warranty claims. Never invent tracking data, dates or amounts; if you do not know, say what you will check.',
  'Refunds go back to the original payment method within 5 to 10 business days. Returns are free within 30 days for unused items in their original packaging.',
  'Invoices (发票) for Chinese customers need the exact company title and tax number; repeat them back before issuing.',
  'Hand the chat to a human colleague when the customer asks for one, when a payment dispute is open, or when an order is lost for more than 10 days.',
  'Keep personal data to what the task needs, and do not repeat full card numbers.',
].join(' ');

const EN_ASKS = [
  'Could you check where my parcel is right now? The tracking page has not changed since yesterday morning and I am starting to worry it got lost somewhere.',
  'Is it possible to change the delivery to the weekend instead? I work long hours during the week and nobody is home to sign for it.',
  'I also wanted to ask about your return policy, in case the size does not fit. Do I need the original box, or is any box fine?',
  'The last package I got from you had a dented corner. Nothing was broken, but can you ask the warehouse to pack more carefully this time?',
  'How long does a refund usually take to show up on the card once you approve it? My bank says they see nothing yet.',
  'Can you tell me if the matching cushion covers are back in stock? They were sold out last week when I placed the order.',
  'One more thing: the app keeps logging me out when I open the order page. Is that a known problem on your side?',
  'Do you offer gift wrapping for this item, and can I add a short message without the price showing on the receipt?',
  'Could you split the order so the lamp ships now and the rest follows later? I need the lamp for a dinner this weekend.',
  'What is the warranty on the kettle? The lid already feels loose and I would rather sort it out before it breaks.',
  'Thanks, that helps. Can you also check whether the second parcel left the warehouse, or is it still waiting for the missing item?',
  'Is there a way to get a notification before the courier arrives? Last time they came when I was out and took it back to the depot.',
];
const ZH_ASKS = [
  '帮我看一下包裹现在到哪里了？物流信息从昨天早上就没有更新，我有点担心是不是丢件了。',
  '可以改成周末送货吗？工作日我都在公司，家里没人签收。',
  '如果尺码不合适可以退货吗？需要保留原包装盒吗，还是随便用个箱子就行？',
  '上次收到的包裹角被压坏了，东西倒是没事，这次能不能让仓库包装得仔细一点？',
  '退款审核通过以后，大概多久能到账？银行那边说还没看到任何记录。',
  '配套的靠垫套现在有货了吗？我下单的时候显示缺货。',
  '还有一个问题：打开订单页面的时候 App 总是自动退出登录，是你们那边的问题吗？',
  '这个商品可以帮忙礼品包装吗？能不能附一张卡片，但是不要显示价格？',
  '能不能把订单拆开发货？台灯先发，其他的晚点再发，周末请客要用台灯。',
  '这个电水壶保修多久？盖子已经有点松了，我想趁没坏之前先处理一下。',
  '好的，谢谢。第二个包裹出库了吗？还是在等缺货的那件商品？',
  '快递员上门前能不能先通知我一下？上次来的时候我不在，又被拉回网点了。',
];
const EN_REPLY = [
  'Thanks for your patience, I have looked into this for you.',
  'I checked the latest scan from the carrier: the parcel left the regional hub last night and is now with the local depot.',
  'It usually takes one more working day from this point, so delivery tomorrow afternoon is the most likely outcome.',
  'If nothing changes by tomorrow evening, I will open a trace with the carrier and let you know what they find.',
  'I have added a note to the order so the warehouse team sees your request before they pack anything else.',
  'Refunds are sent back to the original payment method and normally appear within five to ten business days, depending on your bank.',
  'Returns are free within 30 days as long as the item is unused; any sturdy box is fine if the original one is gone.',
  'I can also send you an email with these details so you have them in writing.',
  'Please keep the packaging for now, just in case we need photos for the claim.',
  'Is there anything else about this order I can help you with today?',
];
const ZH_REPLY = [
  '感谢您的耐心等待，我已经帮您查过了。',
  '最新的物流记录显示，包裹昨晚已经离开区域中转中心，现在在本地网点。',
  '正常情况下还需要一个工作日，预计明天下午可以送到。',
  '如果明天晚上还没有更新，我会向快递公司发起查件，有结果第一时间告诉您。',
  '我已经在订单上加了备注，仓库同事打包之前就能看到您的要求。',
  '退款会原路退回，一般五到十个工作日到账，具体取决于银行的处理速度。',
  '未使用的商品30天内可以免费退货，原包装不在的话用结实的纸箱也可以。',
  '我也可以把这些信息发到您的邮箱，方便您留存。',
  '包装请先保留，万一需要拍照理赔会用到。',
  '关于这个订单，还有什么可以帮您的吗？',
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isChinese = (text: string) => /[\u4e00-\u9fff]/.test(text);

/** `turns` turns; fact k is planted at turn 2k+1 and asked at turn 120 + 4k (when the chat is long enough). */
export function supportChat(turns = 200, seed = 18): Turn[] {
  const random = rng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const reply = (zh: boolean, sentences: number) => {
    const pool = zh ? ZH_REPLY : EN_REPLY;
    const start = Math.floor(random() * pool.length);
    return Array.from({ length: sentences }, (_, i) => pool[(start + i) % pool.length]).join(zh ? '' : ' ');
  };
  const out: Turn[] = [];
  for (let i = 0; i < turns; i++) {
    // The customer switches language every few turns, as bilingual customers do.
    const zh = Math.floor(i / 7) % 2 === 1;
    const planted = i % 2 === 1 && (i - 1) / 2 < FACTS.length ? (i - 1) / 2 : undefined;
    const asked = i >= 120 && (i - 120) % 4 === 0 && (i - 120) / 4 < FACTS.length ? (i - 120) / 4 : undefined;
    if (planted !== undefined) {
      const fact = FACTS[planted]!;
      // The acknowledgement does not repeat the fact: whether it is kept is up to the memory, not to the reply.
      out.push({ user: fact.plant, reply: reply(isChinese(fact.plant), 3), plants: planted });
    } else if (asked !== undefined) {
      const fact = FACTS[asked]!;
      out.push({ user: fact.ask, reply: reply(isChinese(fact.ask), 4), asks: asked });
    } else {
      out.push({ user: pick(zh ? ZH_ASKS : EN_ASKS), reply: reply(zh, 4 + Math.floor(random() * 4)) });
    }
  }
  return out;
}
