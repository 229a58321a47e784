#!/usr/bin/perl
# test/authority_server.pl: a stand-in authority for test/forwarder.sh that
# fails, times out and succeeds on purpose.  Core Perl only (IO::Socket::INET).
#
#   perl test/authority_server.pl STATE_DIR
#
# Listens on 127.0.0.1 on a free port, writes the port to STATE_DIR/port,
# and answers every POST in a child process.  What it answers depends on the
# forwarding's id (from the JSON body) and on how often its Idempotency-Key
# has been seen:
#   id % 4 == 0, first attempt:  503 with Retry-After: 0
#   id % 4 == 1, first attempt:  no answer for 3 s (the worker times out),
#                                then 200 all the same (the authority got it)
#   otherwise:                   200 {"external_id": "CAS-<id>"}
# Every request is a line in STATE_DIR/requests (appended whole):
#   <arrived ms> <answered ms> <status> <header key> <body key> <reference> <seq> <id>
# status is 200, 503 or late-200 (answered after the timeout).
use strict;
use warnings;
use IO::Socket::INET;
use Fcntl qw(:flock O_WRONLY O_APPEND O_CREAT);
use Time::HiRes qw(time sleep);
use POSIX ();

my $dir = shift or die "usage: $0 STATE_DIR\n";
$SIG{PIPE} = 'IGNORE';
$SIG{CHLD} = 'IGNORE';    # children are reaped by the system

my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
	Listen => 64, ReuseAddr => 1) or die "listen: $!\n";
open(my $pf, '>', "$dir/port.tmp") or die;
print $pf $server->sockport, "\n";
close $pf;
rename("$dir/port.tmp", "$dir/port") or die;

sub ms { return sprintf('%.0f', time() * 1000) }

# How many times this key has been seen, this request included.
sub attempt {
	my ($key) = @_;
	local $/ = "\n";
	open(my $lock, '>>', "$dir/lock") or die;
	flock($lock, LOCK_EX) or die;
	my $file = "$dir/seen";
	my %seen;
	if (open(my $in, '<', $file)) {
		while (<$in>) { chomp; $seen{$_}++ }
		close $in;
	}
	open(my $out, '>>', $file) or die;
	print $out "$key\n";
	close $out;
	close $lock;
	return ($seen{$key} // 0) + 1;
}

sub logline {
	my ($line) = @_;
	sysopen(my $fh, "$dir/requests", O_WRONLY | O_APPEND | O_CREAT) or return;    # the test has ended
	syswrite($fh, "$line\n");
	close $fh;
}

sub handle {
	my ($c) = @_;
	my $arrived = ms();
	local $/ = "\r\n";
	my $request = <$c> // return;
	my %h;
	while (my $line = <$c>) {
		last if $line eq "\r\n";
		$line =~ s/\r\n$//;
		my ($k, $v) = split /:\s*/, $line, 2;
		$h{lc $k} = $v;
	}
	my $body = '';
	my $len = $h{'content-length'} // 0;
	while (length($body) < $len) {
		my $n = read($c, $body, $len - length($body), length($body));
		last unless $n;
	}
	my $key = $h{'idempotency-key'} // '-';
	my ($bkey) = $body =~ /"idempotency_key":\s*"([^"]+)"/;
	my ($ref) = $body =~ /"reference":\s*"([^"]+)"/;
	my ($seq) = $body =~ /"seq":\s*(\d+)/;
	my ($id) = $body =~ /"forwarding":\s*\{[^}]*"id":\s*(\d+)/;
	$id //= 0;
	my $n = attempt($key);
	my ($status, $text, $extra) = (200, qq({"external_id": "CAS-$id"}), '');
	my $label = '200';
	if ($n == 1 && $id % 4 == 0) {
		($status, $text, $extra, $label) = (503, '{"error": "busy"}', "Retry-After: 0\r\n", '503');
	} elsif ($n == 1 && $id % 4 == 1) {
		sleep 3;
		$label = 'late-200';
	}
	my $reason = $status == 200 ? 'OK' : 'Service Unavailable';
	print $c "HTTP/1.1 $status $reason\r\nContent-Type: application/json\r\n$extra"
		. "Content-Length: " . length($text) . "\r\nConnection: close\r\n\r\n$text";
	logline(join(' ', $arrived, ms(), $label, $key, $bkey // '-', $ref // '-', $seq // '-', $id));
}

while (1) {
	my $c = $server->accept or next;
	my $pid = fork();
	if (!defined $pid) { close $c; next }
	if ($pid == 0) {
		close $server;
		handle($c);
		close $c;
		POSIX::_exit(0);
	}
	close $c;
}
