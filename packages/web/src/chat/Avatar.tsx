import { Spark } from '../ui/icons.tsx';

/** Initials on a colour picked from the name, so the same person always looks the same. */
export function Avatar({ name, agent, group, small }: { name: string; agent?: boolean; group?: boolean; small?: boolean }) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) % 360;
  const words = name.trim().split(/\s+/).filter(Boolean);
  const initials = (words.length > 1 ? words.slice(0, 2).map((w) => [...w][0]).join('') : [...(words[0] ?? '?')][0]!).toUpperCase();
  return (
    <span className={`avatar ${small ? 'small' : ''} ${agent ? 'agent' : ''} ${group ? 'group' : ''}`} style={{ background: `hsl(${h} 55% 45%)` }} aria-hidden="true">
      {agent ? <Spark /> : initials}
    </span>
  );
}
