// DMA from DRAM into wbuf, abuf or sbuf (docs/isa.md "dma.load"). The controller sends each
// load's request to the DRAM read port when it issues; the DRAM answers in order, one chunk of
// up to DB bytes of one row per cycle (docs/architecture.md "DMA and DRAM"). This engine keeps
// the destinations of the issued loads in order and writes every chunk into its buffer in the
// cycle it arrives; `finish` is the edge of a load's last chunk.
`default_nettype none

module fq_dma_in #(
    parameter DB     = 16,  // data port bytes
    parameter QDEPTH = 16   // loads in flight (a power of two)
) (
    input  wire          clk,
    input  wire          rst,
    input  wire [31:0]   db,        // DRAM bytes per cycle, 1 .. DB (held from reset on)
    input  wire          start,
    input  wire [1:0]    buf_sel,
    input  wire [31:0]   dst,
    input  wire [31:0]   dst_stride,
    input  wire [31:0]   rows,
    input  wire [31:0]   bytes,
    output wire          full,
    input  wire          rd_valid,
    input  wire [8*DB-1:0] rd_data,
    output wire          wr_en,
    output wire [1:0]    wr_buf,
    output wire [31:0]   wr_addr,
    output wire [8*DB-1:0] wr_data,
    output wire [31:0]   wr_len,
    output wire          finish,
    output wire [3:0]    reg_we      // register writes: issue, load done, chunk, row end (docs/energy.md)
);
  localparam QB = $clog2(QDEPTH);
  reg [1:0]  q_buf    [0:QDEPTH-1];
  reg [31:0] q_dst    [0:QDEPTH-1];
  reg [31:0] q_stride [0:QDEPTH-1];
  reg [31:0] q_rows   [0:QDEPTH-1];
  reg [31:0] q_bytes  [0:QDEPTH-1];
  reg [QB:0]   rd, wr;  // queue pointers with a wrap bit: empty when equal, full when only it differs
  reg [31:0]   row, off;

  // The head load; a load issued in this cycle is the head when nothing else is waiting.
  wire        empty   = rd == wr;
  wire [1:0]  h_buf   = empty ? buf_sel : q_buf[rd[QB-1:0]];
  wire [31:0] h_dst   = empty ? dst : q_dst[rd[QB-1:0]];
  wire [31:0] h_str   = empty ? dst_stride : q_stride[rd[QB-1:0]];
  wire [31:0] h_rows  = empty ? rows : q_rows[rd[QB-1:0]];
  wire [31:0] h_bytes = empty ? bytes : q_bytes[rd[QB-1:0]];
  wire [31:0] left    = h_bytes - off;
  wire [31:0] len     = left < db ? left : db;
  wire        row_end = rd_valid && (off + len == h_bytes);
  wire        op_end  = row_end && (row + 32'd1 == h_rows);

  assign full    = rd == (wr ^ {1'b1, {QB{1'b0}}});
  assign reg_we  = {row_end, rd_valid, op_end, start};
  assign wr_en   = rd_valid;
  assign wr_buf  = h_buf;
  assign wr_addr = h_dst + row * h_str + off;
  assign wr_data = rd_data;
  assign wr_len  = len;
  assign finish  = op_end;

  always @(posedge clk) begin
    if (start) begin
      q_buf[wr[QB-1:0]] <= buf_sel;
      q_dst[wr[QB-1:0]] <= dst;
      q_stride[wr[QB-1:0]] <= dst_stride;
      q_rows[wr[QB-1:0]] <= rows;
      q_bytes[wr[QB-1:0]] <= bytes;
    end
    if (rst) begin
      rd <= {(QB + 1){1'b0}};
      wr <= {(QB + 1){1'b0}};
      row <= 32'd0;
      off <= 32'd0;
    end else begin
      if (start) wr <= wr + 1'b1;
      if (op_end) rd <= rd + 1'b1;
      if (rd_valid) off <= row_end ? 32'd0 : off + len;
      if (row_end) row <= op_end ? 32'd0 : row + 32'd1;
    end
  end

`ifndef SYNTHESIS
  always @(posedge clk) begin
    if (!rst && rd_valid && empty && !start) begin
      $display("fq_dma_in: DRAM data arrived with no load in flight");
      $stop;
    end
  end
`endif
endmodule

`default_nettype wire
