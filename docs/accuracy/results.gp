# gnuplot script written by evaluate: gnuplot docs/accuracy/results.gp
set terminal svg size 900,560 dynamic font 'sans,12'
set output 'results.svg'
set datafile separator ','
set title 'stories260K: bits per weight vs perplexity (FP32 reference dashed)'
set xlabel 'bits per weight (codes, scales, zero points, outliers)'
set ylabel 'perplexity on TinyStories text (log scale)'
set logscale y
set grid
set key off
set xrange [1.5:9.5]
ref = 4.218960
# FP32 (32 bits) is the dashed line, not a point
plot 'results.csv' using 4:($4 < 32 ? $7 : 1/0) with points pt 7 ps 1.1 lc rgb '#1f77b4', \
     '' using 4:($4 < 32 ? $7 : 1/0):2 with labels left offset 0.7,0 font 'sans,8', \
     ref with lines dt 2 lc rgb '#888888'
