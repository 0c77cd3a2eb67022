#!/usr/bin/env bash
# ja-sounds.sh: makes a Japanese prompt set for mikaka's dialplan applications and voicemail
# with Open JTalk (text-to-speech), at install time, into SOUNDS/ja/NAME.wav (8 kHz mono 16-bit
# PCM when sox is installed; else Open JTalk's 48 kHz WAV, which mikaka converts when it loads
# it). Select it in the dialplan with Set(CHANNEL(language)=ja) or language=ja.
# Usage: scripts/ja-sounds.sh [-d SOUNDS_DIR] [-m VOICE.htsvoice] [-x DICT_DIR] [-n]
#   SOUNDS_DIR default /usr/share/asterisk/sounds (mikaka.conf [directories] astsoundsdir)
#   VOICE default: the first *.htsvoice under /usr/share/hts-voice (Debian non-free package
#         hts-voice-nitech-jp-atr503-m001, or the MMDAgent "Mei" voice copied there)
#   DICT_DIR default /var/lib/mecab/dic/open-jtalk/naist-jdic (open-jtalk-mecab-naist-jdic)
#   -n: list what would be made and exit (no Open JTalk needed)
# Needs: open-jtalk, open-jtalk-mecab-naist-jdic, a voice; sox optional (resampling).
set -euo pipefail

SOUNDS=/usr/share/asterisk/sounds
VOICE=
DICT=/var/lib/mecab/dic/open-jtalk/naist-jdic
DRY=0
while getopts d:m:x:n o; do
	case $o in
	d) SOUNDS=$OPTARG ;;
	m) VOICE=$OPTARG ;;
	x) DICT=$OPTARG ;;
	n) DRY=1 ;;
	*) sed -n '2,13p' "$0" >&2; exit 2 ;;
	esac
done

# NAME<TAB>text: the prompts the applications (Record's beep is a tone, made below), voicemail
# and screening's announcements (docs/SCREENING.md) use, with Asterisk's file names so a
# dialplan written for the English set works.
PROMPTS=$(cat <<'EOT'
digits/0	ゼロ
digits/1	いち
digits/2	に
digits/3	さん
digits/4	よん
digits/5	ご
digits/6	ろく
digits/7	なな
digits/8	はち
digits/9	きゅう
digits/10	じゅう
digits/11	じゅういち
digits/12	じゅうに
digits/13	じゅうさん
digits/14	じゅうよん
digits/15	じゅうご
digits/16	じゅうろく
digits/17	じゅうなな
digits/18	じゅうはち
digits/19	じゅうきゅう
digits/20	にじゅう
digits/30	さんじゅう
digits/40	よんじゅう
digits/50	ごじゅう
digits/60	ろくじゅう
digits/70	ななじゅう
digits/80	はちじゅう
digits/90	きゅうじゅう
digits/hundred	ひゃく
digits/thousand	せん
digits/million	ひゃくまん
digits/minus	マイナス
digits/star	こめじるし
digits/pound	シャープ
hello-world	こんにちは。
goodbye	ありがとうございました。失礼します。
invalid	その番号は、無効です。
pls-try-again	もう一度おかけ直しください。
auth-thankyou	ありがとうございます。
vm-intro	ただいま電話に出ることができません。発信音の後に、メッセージをお話しください。終わりましたら、シャープを押してください。
vm-theperson	おかけになった番号の方は
vm-isunavail	ただいま電話に出ることができません。
vm-isonphone	ただいま、ほかの電話に出ています。
vm-login	留守番電話です。メールボックスの番号を押してください。
vm-password	暗証番号を押して、最後にシャープを押してください。
vm-incorrect	番号が違います。
vm-youhave	メッセージが
vm-INBOX	新しい
vm-Old	保存された
vm-messages	件あります。
vm-message	件あります。
vm-no	メッセージはありません。
vm-first	最初のメッセージです。
vm-last	最後のメッセージです。
vm-nomore	これ以上、メッセージはありません。
vm-instructions	再生は1、前のメッセージは4、繰り返しは5、次のメッセージは6、削除は7、保存は9、設定は0、終了はシャープを押してください。
vm-deleted	メッセージを削除しました。
vm-undeleted	削除を取り消しました。
vm-saved	メッセージを保存しました。
vm-msgsaved	メッセージをお預かりしました。
vm-options	不在時の応答メッセージの録音は1、話し中の応答メッセージの録音は2、終了はシャープを押してください。
vm-rec-unv	発信音の後に、不在時の応答メッセージをお話しください。
vm-rec-busy	発信音の後に、話し中の応答メッセージをお話しください。
vm-review	録音を聞くには2、録音し直すには3、終了はシャープを押してください。
vm-mailboxfull	このメールボックスはいっぱいです。
vm-goodbye	ご利用ありがとうございました。
privacy-unident	こちらは、電話番号を通知されないお電話はお受けしておりません。おそれいりますが、電話番号の前に、いち、はち、ろくを付けて、おかけ直しください。
cannot-complete-as-dialed	おかけになった電話番号への通話は、お客様のご希望により、おつなぎできません。
privacy-to-blacklist-last-caller	直前にかかってきた電話番号、
num-was-successfully	を、
added	着信拒否に登録しました。
removed	着信拒否から削除しました。
number	着信拒否の登録数は、
privacy-incorrect	登録できる番号がありません。
EOT
)

if [ "$DRY" = 1 ]; then
	while IFS=$'\t' read -r name text; do
		echo "$SOUNDS/ja/$name.wav: $text"
	done <<<"$PROMPTS"
	echo "$SOUNDS/ja/beep.wav: 1 kHz tone, 250 ms"
	exit 0
fi

command -v open_jtalk >/dev/null || { echo "ja-sounds: open_jtalk not found (apt-get install open-jtalk open-jtalk-mecab-naist-jdic)" >&2; exit 1; }
[ -d "$DICT" ] || { echo "ja-sounds: dictionary $DICT not found (apt-get install open-jtalk-mecab-naist-jdic)" >&2; exit 1; }
if [ -z "$VOICE" ]; then
	VOICE=$(find /usr/share/hts-voice -name '*.htsvoice' 2>/dev/null | sort | head -1 || true)
fi
[ -n "$VOICE" ] && [ -f "$VOICE" ] || {
	echo "ja-sounds: no voice: install Debian's non-free hts-voice-nitech-jp-atr503-m001 or pass -m FILE.htsvoice" >&2
	exit 1
}
have_sox=0
command -v sox >/dev/null && have_sox=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
while IFS=$'\t' read -r name text; do
	out=$SOUNDS/ja/$name.wav
	mkdir -p "$(dirname "$out")"
	printf '%s\n' "$text" >"$tmp/in.txt"
	open_jtalk -x "$DICT" -m "$VOICE" -ow "$tmp/out.wav" "$tmp/in.txt"
	if [ "$have_sox" = 1 ]; then
		sox "$tmp/out.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/8k.wav"
		install -m 0644 "$tmp/8k.wav" "$out"
	else
		install -m 0644 "$tmp/out.wav" "$out"
	fi
	n=$((n + 1))
done <<<"$PROMPTS"
# The beep before a recording is a tone in every language.
if [ "$have_sox" = 1 ]; then
	sox -n -r 8000 -c 1 -b 16 -e signed-integer "$SOUNDS/ja/beep.wav" synth 0.25 sine 1000 vol 0.5
elif [ -f "$SOUNDS/en/beep.wav" ]; then
	install -m 0644 "$SOUNDS/en/beep.wav" "$SOUNDS/ja/beep.wav"
fi
echo "ja-sounds: $n prompts written to $SOUNDS/ja (voice $(basename "$VOICE"))"
