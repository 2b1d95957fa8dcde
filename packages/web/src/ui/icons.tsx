// Icons as inline SVG: emoji depend on the reader's fonts (many Linux
// machines have none) and an icon font would be one more download.

const props = { width: 18, height: 18, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', strokeWidth: 2, strokeLinecap: 'round', strokeLinejoin: 'round', 'aria-hidden': true } as const;

export const ThumbUp = () => (
  <svg {...props}><path d="M7 10v11H4a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1h3zm0 0 4-8a3 3 0 0 1 3 3v4h5.5a2 2 0 0 1 2 2.3l-1.3 8A2 2 0 0 1 18.2 21H7" /></svg>
);
export const ThumbDown = () => (
  <svg {...props}><path d="M17 14V3h3a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1h-3zm0 0-4 8a3 3 0 0 1-3-3v-4H4.5a2 2 0 0 1-2-2.3l1.3-8A2 2 0 0 1 5.8 3H17" /></svg>
);
export const Paperclip = () => (
  <svg {...props}><path d="m21 11-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7" /></svg>
);
export const FileIcon = () => (
  <svg {...props}><path d="M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z" /><path d="M14 3v6h6" /></svg>
);
export const StopIcon = () => (
  <svg {...props} width={12} height={12}><rect x="5" y="5" width="14" height="14" rx="2" fill="currentColor" /></svg>
);
export const Spark = () => (
  <svg {...props} width={16} height={16}><path d="M12 3v4M12 17v4M3 12h4M17 12h4M6 6l2.5 2.5M15.5 15.5 18 18M6 18l2.5-2.5M15.5 8.5 18 6" /></svg>
);
export const PinIcon = ({ size = 18 }: { size?: number }) => (
  <svg {...props} width={size} height={size}><path d="M9 4h6l-1 6 4 3v2H6v-2l4-3-1-6zM12 15v6" /></svg>
);
export const BellIcon = () => (
  <svg {...props}><path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 21h4" /></svg>
);
export const BellOffIcon = ({ size = 18 }: { size?: number }) => (
  <svg {...props} width={size} height={size}><path d="M6 16V11a6 6 0 0 1 9.5-4.9M18 11v5l2 2H8M10 21h4M3 3l18 18" /></svg>
);
