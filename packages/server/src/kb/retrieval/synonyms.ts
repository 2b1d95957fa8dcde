// Words customers use beside the words documentation uses, shipped as data so
// the offline default (local/kb-answer, no network, no model) can match a
// question asked in other words. Each line is one group of interchangeable
// terms; a query term found in a group adds the group's other terms at a lower
// weight (query-expansion.ts), so the customer's own word still counts most.
// Kept general (support, chat/IM, AI, cloud, shopping), not tuned per article:
// a group earns its place by being how people really say a thing.
const GROUPS = `
公司 企业 商家 单位 机构 团队
大模型 语言模型 ai模型 llm gpt 模型
人工智能 ai 智能
聊天软件 聊天工具 聊天app 即时通讯 即时通信 im 通讯软件 聊天应用
聊天 对话 沟通 交流
智能体 agent 代理
机器人 bot 聊天机器人 对话机器人
客服 客户服务 售后 支持
知识库 资料库 文档库 资料 知识
私有化 私有部署 私有化部署 本地部署 自建 自己部署 内网部署 机房 本地化
公有云 云服务 saas
专有云 独享 独占 专属
部署 安装 搭建 上线
价格 费用 收费 多少钱 成本 报价 定价 花费 便宜 贵
安全 防护 保护 防范
隐私 个人信息 数据保护 泄露
推送 通知 提醒 消息提醒
手机 移动端 移动 安卓 苹果 ios android
电脑 桌面 pc 桌面版
接口 api 调用
开发包 sdk 工具包
插件 扩展 技能 skill
配置 设置 参数 选项
后台 控制台 管理后台 管理台 console
切分 切片 分段 分块 拆分 分割 片段
向量 嵌入 embedding 向量化
搜索 检索 查找 查询 搜
可视化 图表 看板 仪表盘 报表
出处 来源 溯源 引用
幻觉 胡说八道 编造 瞎编 不准确
训练 微调 调教 学习
评估 评测 测评 评价 打分
压测 压力测试 性能测试 压力 负载
耗电 电量 费电 省电 功耗 续航
举报 投诉 反馈 申诉
诈骗 反诈 骗子 欺诈
违规 违法 不合规 处罚 后果
合规 法规 法律 规定 gdpr
丢失 丢 漏 不丢 可靠 可靠性 投递 送达
顺序 有序 乱序 重复 唯一
稳定 稳定性 宕机 可用性 故障
并发 高并发 同时 扛住 承载
扩容 扩展 可扩展性 弹性
切换 迁移 更换 换
集成 对接 接入 打通 整合
定制 个性化 自定义 专有
语音 音频 说话 tts asr
视频 直播
文字 文本
图片 图像
外国 国外 海外 外国人 老外 境外
交友 社交 陌生人 认识
匿名 不实名
开源 源码 源代码 开放源代码
下载 获取 安装包
营销 推广 获客 引流 拉新 流量
效率 提效 省时
员工 职工 同事 人员
部门 团队 组织
权限 授权 访问控制 鉴权 认证
账号 帐号 账户 用户名
密码 口令
登录 登陆 登入 签到
退货 退款 退换 售后
发票 开票 税票
快递 物流 配送 发货 运单
订单 单号 购买
会员 vip 订阅
优惠 折扣 优惠券 打折 几折
升级 更新 新版本 版本
故障 报错 失败 出错 错误 问题 不行
调试 debug 排查
容器 docker k8s kubernetes 镜像 集群
服务器 主机 机器
网络 网 wifi 4g 5g 信号
离线 断网 无网络
多端 多设备 多终端 同时登录
群 群聊 群组
消息 信息 短信
`;

/** Each term of every group mapped to the other terms of its groups. */
export const SYNONYMS: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, Set<string>>();
  for (const line of GROUPS.trim().split('\n')) {
    const words = line.trim().split(/\s+/);
    for (const w of words) {
      const others = map.get(w) ?? new Set<string>();
      for (const o of words) if (o !== w) others.add(o);
      map.set(w, others);
    }
  }
  return new Map([...map].map(([w, s]) => [w, [...s]]));
})();
