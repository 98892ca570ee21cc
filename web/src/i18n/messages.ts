/**
 * UI text. English is the reference; the Chinese table must have exactly its keys
 * (enforced by the `Messages` type). `{name}` marks a value filled in by `t`.
 */
import type { DurationUnits } from "../lib/format";

export const en = {
  "app.title": "monitord",
  "nav.servers": "Servers",
  "nav.logout": "Sign out",
  "nav.language": "Language",
  "nav.signedInAs": "Signed in as {user}",

  "login.title": "Sign in to monitord",
  "login.username": "Username",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.submitting": "Signing in…",
  "login.error.badCredentials": "Incorrect username or password.",
  "login.error.tooMany": "Too many failed attempts. Please wait and try again.",
  "login.error.tooManyRetry": "Too many failed attempts. Try again in {seconds} s.",
  "login.error.network": "Cannot reach the monitord daemon.",
  "login.error.other": "Sign-in failed: {message}",
  "login.notice.sessionExpired": "Your session has ended. Please sign in again.",
  "login.notice.loggedOut": "You have signed out.",

  "conn.connected": "Live",
  "conn.connecting": "Connecting…",
  "conn.reconnecting": "Connection lost. Reconnecting in {seconds} s (at {time}).",
  "conn.reconnectingNow": "Connection lost. Reconnecting…",
  "conn.error": "Connection error.",
  "conn.failed": "Connection failed.",
  "conn.retry": "Retry",
  "conn.disconnected": "Disconnected",

  "status.online": "Online",
  "status.offline": "Offline",
  "status.pending": "Pending",

  "list.title": "Servers",
  "list.counts": "Server counts",
  "list.total": "All",
  "list.filterStatus": "Status",
  "list.search": "Filter by name",
  "list.searchPlaceholder": "Name or hostname",
  "list.sortBy": "Sort by",
  "list.sortAscending": "Ascending",
  "list.sortDescending": "Descending",
  "list.empty": "No servers registered yet.",
  "list.noMatch": "No servers match the filter.",
  "list.loading": "Loading servers…",
  "list.noData": "No server list yet: not connected to the daemon.",
  "list.updatedAt": "Updated {time}",
  "list.showing": "Showing {shown} of {total}",

  "col.status": "Status",
  "col.name": "Name",
  "col.os": "OS",
  "col.cpu": "CPU",
  "col.memory": "Memory",
  "col.disk": "Disk",
  "col.network": "Network ↓ / ↑",
  "col.uptime": "Uptime",
  "col.lastSeen": "Last seen",

  "detail.back": "All servers",
  "detail.loading": "Waiting for the server list…",
  "detail.notFound": "Server {id} is not in the list. It may have been deleted.",
  "detail.facts": "Host",
  "detail.live": "Live figures",
  "detail.noMetrics": "This server has not reported any metrics yet.",
  "detail.charts": "Last 10 minutes",
  "detail.history": "History",
  "detail.historyPlaceholder": "Charts over a chosen time range will appear here.",

  "fact.hostname": "Hostname",
  "fact.os": "Operating system",
  "fact.kernel": "Kernel",
  "fact.arch": "Architecture",
  "fact.cpuModel": "CPU model",
  "fact.cpuCores": "CPU cores",
  "fact.ip": "IP address",
  "fact.agentVersion": "Agent version",
  "fact.createdAt": "Registered",
  "fact.lastSeenAt": "Last seen",

  "metric.cpu": "CPU",
  "metric.memory": "Memory",
  "metric.swap": "Swap",
  "metric.disk": "Disk",
  "metric.diskIo": "Disk read / write",
  "metric.network": "Network ↓ / ↑",
  "metric.networkTotals": "Received / sent total",
  "metric.load": "Load (1 / 5 / 15 min)",
  "metric.processes": "Processes",
  "metric.connections": "TCP / UDP connections",
  "metric.uptime": "Uptime",
  "metric.sampledAt": "Sampled {time}",

  "chart.cpu": "CPU usage",
  "chart.memory": "Memory used",
  "chart.network": "Network",
  "chart.rx": "Receive",
  "chart.tx": "Transmit",
  "chart.collecting": "Collecting samples…",

  "notFound.title": "Page not found",
} as const;

export type MessageKey = keyof typeof en;
export type Messages = Record<MessageKey, string>;

export const zhCN: Messages = {
  "app.title": "monitord",
  "nav.servers": "服务器",
  "nav.logout": "退出登录",
  "nav.language": "语言",
  "nav.signedInAs": "当前用户：{user}",

  "login.title": "登录 monitord",
  "login.username": "用户名",
  "login.password": "密码",
  "login.submit": "登录",
  "login.submitting": "正在登录…",
  "login.error.badCredentials": "用户名或密码错误。",
  "login.error.tooMany": "失败次数过多，请稍后再试。",
  "login.error.tooManyRetry": "失败次数过多，请在 {seconds} 秒后再试。",
  "login.error.network": "无法连接到 monitord 服务。",
  "login.error.other": "登录失败：{message}",
  "login.notice.sessionExpired": "会话已结束，请重新登录。",
  "login.notice.loggedOut": "您已退出登录。",

  "conn.connected": "实时",
  "conn.connecting": "正在连接…",
  "conn.reconnecting": "连接已断开，{seconds} 秒后重连（{time}）。",
  "conn.reconnectingNow": "连接已断开，正在重连…",
  "conn.error": "连接出错。",
  "conn.failed": "连接失败。",
  "conn.retry": "重试",
  "conn.disconnected": "未连接",

  "status.online": "在线",
  "status.offline": "离线",
  "status.pending": "待接入",

  "list.title": "服务器",
  "list.counts": "服务器数量",
  "list.total": "全部",
  "list.filterStatus": "状态",
  "list.search": "按名称筛选",
  "list.searchPlaceholder": "名称或主机名",
  "list.sortBy": "排序",
  "list.sortAscending": "升序",
  "list.sortDescending": "降序",
  "list.empty": "尚未注册任何服务器。",
  "list.noMatch": "没有符合筛选条件的服务器。",
  "list.loading": "正在加载服务器列表…",
  "list.noData": "尚无服务器列表：未连接到 monitord 服务。",
  "list.updatedAt": "更新于 {time}",
  "list.showing": "显示 {shown} / {total}",

  "col.status": "状态",
  "col.name": "名称",
  "col.os": "系统",
  "col.cpu": "CPU",
  "col.memory": "内存",
  "col.disk": "磁盘",
  "col.network": "网络 ↓ / ↑",
  "col.uptime": "运行时间",
  "col.lastSeen": "最后上报",

  "detail.back": "全部服务器",
  "detail.loading": "正在等待服务器列表…",
  "detail.notFound": "列表中没有服务器 {id}，它可能已被删除。",
  "detail.facts": "主机信息",
  "detail.live": "实时数据",
  "detail.noMetrics": "该服务器尚未上报任何指标。",
  "detail.charts": "最近 10 分钟",
  "detail.history": "历史",
  "detail.historyPlaceholder": "按时间范围查看的历史图表将显示在这里。",

  "fact.hostname": "主机名",
  "fact.os": "操作系统",
  "fact.kernel": "内核",
  "fact.arch": "架构",
  "fact.cpuModel": "CPU 型号",
  "fact.cpuCores": "CPU 核数",
  "fact.ip": "IP 地址",
  "fact.agentVersion": "Agent 版本",
  "fact.createdAt": "注册时间",
  "fact.lastSeenAt": "最后上报",

  "metric.cpu": "CPU",
  "metric.memory": "内存",
  "metric.swap": "交换空间",
  "metric.disk": "磁盘",
  "metric.diskIo": "磁盘读 / 写",
  "metric.network": "网络 ↓ / ↑",
  "metric.networkTotals": "累计接收 / 发送",
  "metric.load": "负载（1 / 5 / 15 分钟）",
  "metric.processes": "进程数",
  "metric.connections": "TCP / UDP 连接",
  "metric.uptime": "运行时间",
  "metric.sampledAt": "采样于 {time}",

  "chart.cpu": "CPU 使用率",
  "chart.memory": "已用内存",
  "chart.network": "网络",
  "chart.rx": "接收",
  "chart.tx": "发送",
  "chart.collecting": "正在收集数据…",

  "notFound.title": "页面不存在",
};

export const SUPPORTED_LOCALES = ["en", "zh-CN"] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

export const LOCALE_NAMES: Record<Locale, string> = {
  en: "English",
  "zh-CN": "简体中文",
};

export const MESSAGES: Record<Locale, Messages> = { en, "zh-CN": zhCN };

export const DURATION_UNITS: Record<Locale, DurationUnits> = {
  en: { day: "d", hour: "h", minute: "m", second: "s", joiner: "" },
  "zh-CN": { day: "天", hour: "小时", minute: "分", second: "秒", joiner: "" },
};
